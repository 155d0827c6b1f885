// @ts-check
// Arrow-key nudges of the selection: each key moves it at once (live), and the moves are committed
// as one undoable update 0.5 s after the last key (or before anything else happens).
import { translateGeom, clampDelta } from "./geometry.js";
import { snap } from "./instances.js";
import { selected } from "./state.js";

/** Milliseconds after the last arrow key before the nudge is committed. */
export const NUDGE_COMMIT_MS = 500;

export class Nudge {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {{apply: (e: import("./types.js").Edit) => void}} o.editor
   * @param {() => void} o.moved after each key (sync, redraw)
   * @param {(f: () => void, ms: number) => unknown} [o.setTimer]
   * @param {(t: unknown) => void} [o.clearTimer]
   */
  constructor({ state, editor, moved, setTimer = (f, ms) => setTimeout(f, ms), clearTimer = (t) => clearTimeout(/** @type {number} */ (t)) }) {
    this.state = state;
    this.editor = editor;
    this.moved = moved;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    /** @type {{before: Map<string, import("./types.js").Snap>, dx: number, dy: number} | null} */
    this.open = null;
    /** @type {unknown} */
    this.timer = null;
  }

  /** An uncommitted nudge exists (counts as a pending change). */
  get pending() {
    return !!this.open;
  }

  /** @param {number} dx @param {number} dy */
  by(dx, dy) {
    const s = this.state;
    const sel = selected(s);
    if (!sel.length) return;
    if (!this.open) this.open = { before: new Map(sel.map((i) => [i.key, snap(i)])), dx: 0, dy: 0 };
    const n = this.open;
    let tdx = n.dx + dx, tdy = n.dy + dy;
    for (const b of n.before.values()) [tdx, tdy] = clampDelta(b.box, tdx, tdy, s.W, s.H);
    n.dx = tdx;
    n.dy = tdy;
    this.editor.apply({ type: "live", geoms: new Map([...n.before].map(([k, b]) => [k, translateGeom(b, tdx, tdy)])) });
    this.clearTimer(this.timer);
    this.timer = this.setTimer(() => this.flush(), NUDGE_COMMIT_MS);
    this.moved();
  }

  /** Commit the open nudge (one update of every instance still there). */
  flush() {
    this.clearTimer(this.timer);
    const n = this.open;
    this.open = null;
    if (!n) return;
    if (!n.dx && !n.dy) { this.moved(); return; }
    const changes = [];
    for (const [key, before] of n.before) {
      const inst = this.state.inst.get(key);
      if (inst) changes.push({ key, before, after: snap(inst) });
    }
    if (changes.length) this.editor.apply({ type: "update", changes, name: "move" });
  }
}
