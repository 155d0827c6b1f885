// @ts-check
// The editor applies the edits the tools and the panel return: it changes the instances of the
// state, pushes one undo command per finished edit and queues the saves (create / update / delete,
// in order, retried by the save queue). Live edits (during a gesture) change geometry only.
import { applySnap, payload, fromServer } from "./instances.js";

/** @typedef {import("./types.js").Inst} Inst */
/** @typedef {import("./types.js").Edit} Edit */
/** @typedef {import("./types.js").Change} Change */
/** @typedef {import("./undo.js").Command} Command */
/** @typedef {{enqueue: (e: import("./saver.js").Entry) => void}} Saves */

/** A client id for a create (the kernel dedupes retried creates on it). */
const newCid = () => "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

export class Editor {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {Saves} o.saves the session's save queue
   * @param {import("./undo.js").UndoStack} o.undo
   * @param {() => void} [o.changed] after instances changed (refresh the panel, redraw)
   * @param {() => void} [o.tagsChanged] after the whole-image tags changed
   */
  constructor({ state, saves, undo, changed = () => {}, tagsChanged = () => {} }) {
    this.state = state;
    this.saves = saves;
    this.undo = undo;
    this.changed = changed;
    this.tagsChanged = tagsChanged;
  }

  /** @param {Edit} edit */
  apply(edit) {
    const s = this.state;
    switch (edit.type) {
      case "live":
        for (const [key, g] of edit.geoms) {
          const inst = s.inst.get(key);
          if (inst) { inst.box = g.box; inst.points = g.points; }
        }
        return;
      case "create": return this.create(edit.insts, edit.name);
      case "delete": {
        const insts = edit.keys.map((k) => s.inst.get(k)).filter((i) => !!i);
        return this.remove(/** @type {Inst[]} */ (insts), edit.name);
      }
      case "update": return this.update(edit.changes, edit.name);
    }
  }

  /** @param {Inst[]} insts @param {string} name */
  create(insts, name) {
    if (!insts.length) return;
    const author = this.state.author;
    for (const i of insts) if (i.author == null) i.author = author;
    const add = () => { for (const i of insts) { this.state.inst.set(i.key, i); this.saveCreate(i); } };
    const remove = () => { for (const i of insts) { this.state.inst.delete(i.key); this.saveDelete(i); } };
    add();
    this.undo.push({ name, undo: remove, redo: add, keys: insts.map((i) => i.key) });
    this.changed();
  }

  /** @param {Inst[]} insts @param {string} name */
  remove(insts, name) {
    if (!insts.length) return;
    const add = () => { for (const i of insts) { this.state.inst.set(i.key, i); this.saveCreate(i); } };
    const remove = () => { for (const i of insts) { this.state.inst.delete(i.key); this.saveDelete(i); } };
    remove();
    this.undo.push({ name, undo: add, redo: remove, keys: insts.map((i) => i.key) });
    this.changed();
  }

  /** Set each change's `after` (it may be applied already, e.g. by a gesture), save, push undo. @param {Change[]} changes @param {string} name */
  update(changes, name) {
    const live = changes.map((c) => ({ ...c, inst: this.state.inst.get(c.key) })).filter((c) => !!c.inst);
    if (!live.length) return;
    /** @param {"before" | "after"} side */
    const put = (side) => {
      for (const c of live) {
        const inst = /** @type {Inst} */ (c.inst);
        applySnap(inst, c[side]);
        this.saveUpdate(inst);
      }
    };
    put("after");
    this.undo.push({ name, keys: live.map((c) => c.key), undo: () => put("before"), redo: () => put("after") });
    this.changed();
  }

  /** Toggle a whole-image tag (one `tags` request with the full set; undoable). @param {number} id */
  toggleTag(id) {
    const s = this.state;
    const before = new Set(s.tags), after = new Set(s.tags);
    if (after.has(id)) after.delete(id);
    else after.add(id);
    /** @param {Set<number>} set */
    const apply = (set) => {
      s.tags = new Set(set);
      const tags = [...set], media_id = s.item && s.item.media_id;
      this.saves.enqueue({
        build: () => ({ kind: "tags", media_id, tags }),
        onOk: (r) => {
          if (!r.instances || !s.item || s.item.media_id !== media_id) return;
          for (const [k, i] of [...s.inst]) if (i.kind === "tag") s.inst.delete(k);
          for (const w of r.instances) { const inst = fromServer(w); s.inst.set(inst.key, inst); }
          this.tagsChanged();
        },
      });
      this.tagsChanged();
    };
    apply(after);
    this.undo.push({ name: "tags", undo: () => apply(before), redo: () => apply(after) });
  }

  /** @returns {Command | null} */
  undoLast() {
    const c = this.undo.undo();
    if (c) this.changed();
    return c;
  }

  /** @returns {Command | null} */
  redoLast() {
    const c = this.undo.redo();
    if (c) this.changed();
    return c;
  }

  // ---- persistence: each finished change of the store is one queued request

  /** @param {Inst} inst */
  saveCreate(inst) {
    /** @type {import("./types.js").Ref} */
    const ref = { id: null, version: null };
    inst.ref = ref;
    inst.id = null;
    const cid = newCid();
    inst.cid = cid;
    const body = payload(inst), media_id = this.state.item && this.state.item.media_id;
    this.saves.enqueue({
      build: () => ({ kind: "save", op: "create", media_id, instance: { ...body, cid } }),
      onOk: (r) => {
        ref.id = r.instance_id;
        ref.version = r.version;
        if (inst.ref === ref) { inst.id = r.instance_id; inst.version = r.version; }
      },
    });
  }

  /** @param {Inst} inst */
  saveUpdate(inst) {
    const ref = /** @type {import("./types.js").Ref} */ (inst.ref), body = payload(inst), media_id = this.state.item && this.state.item.media_id;
    this.saves.enqueue({
      // the version guards against overwriting someone else's change; after a refusal the retry
      // goes without it (the user's latest edit wins) so a conflict cannot block the queue forever
      build: (attempt) => ({ kind: "save", op: "update", media_id, instance: attempt ? { ...body, id: ref.id } : { ...body, id: ref.id, version: ref.version } }),
      onOk: (r) => { ref.version = r.version; if (inst.ref === ref) inst.version = r.version; },
    });
  }

  /** @param {Inst} inst */
  saveDelete(inst) {
    const ref = /** @type {import("./types.js").Ref} */ (inst.ref), media_id = this.state.item && this.state.item.media_id;
    this.saves.enqueue({ build: () => ({ kind: "save", op: "delete", media_id, instance_id: ref.id }) });
  }
}
