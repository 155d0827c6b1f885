// @ts-check
// One session per widget model, made in anywidget's `initialize`: the request/response client and
// the save queue. Every view of the model (a cell shown twice, a cloned output) shares them, so a
// change is sent once and the save state is the same in every view; views subscribe to it.
import { Rpc } from "../shared/rpc.js";
import { SaveQueue } from "./saver.js";

/** @typedef {import("./saver.js").SaveState} SaveState */

export class Session {
  /** @param {import("./types.js").AnyModel} model */
  constructor(model) {
    this.rpc = new Rpc(model);
    /** @type {Set<(st: SaveState) => void>} */
    this.listeners = new Set();
    this.saves = new SaveQueue({
      request: (m, t) => this.rpc.request(m, t),
      onState: (st) => { for (const f of this.listeners) f(st); },
    });
  }

  /** Follow the save state; returns the unsubscribe. @param {(st: SaveState) => void} f */
  onSaveState(f) {
    this.listeners.add(f);
    return () => { this.listeners.delete(f); };
  }

  dispose() {
    this.listeners.clear();
    this.saves.close();
    this.rpc.dispose();
  }
}

/** @type {WeakMap<object, Session>} */
const sessions = new WeakMap();

/**
 * The session of `model`, made on first use (anywidget calls `initialize` before any `render`).
 * @param {import("./types.js").AnyModel} model
 */
export function sessionFor(model) {
  let s = sessions.get(model);
  if (!s) sessions.set(model, (s = new Session(model)));
  return s;
}

/** End the session of `model` (the model is gone). @param {import("./types.js").AnyModel} model */
export function endSession(model) {
  const s = sessions.get(model);
  if (s) s.dispose();
  sessions.delete(model);
}
