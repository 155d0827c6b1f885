// Selection, snapshots, and every change as an undoable command that queues its saves.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { r2 } from "./geometry.js";
import { deep } from "./common.js";

export const EditsMethods = {
  selected() {
    const out = [];
    for (const k of this.sel) { const i = this.inst.get(k); if (i) out.push(i); }
    return out;
  },

  setSelection(keys, { keepVertex = false } = {}) {
    this.sel = new Set(keys);
    if (!keepVertex) this.selVertex = null;
    if (this.sel.size) this.selPred = null;
    this.refreshPanel();
    this.sync();
    this.requestDraw(true);
  },

  snap(inst) {
    return { label_id: inst.label_id, box: deep(inst.box), points: deep(inst.points), attributes: deep(inst.attributes || {}) };
  },

  applySnap(inst, s) {
    inst.label_id = s.label_id;
    inst.box = deep(s.box);
    inst.points = deep(s.points);
    inst.attributes = deep(s.attributes);
  },

  payload(inst) {
    const round = (pts) => pts && pts.map((p) => p.map((x, j) => (j < 2 ? r2(x) : x)));
    return {
      label_id: inst.label_id, kind: inst.kind, box: inst.box ? inst.box.map(r2) : null,
      points: round(inst.points) || null, attributes: deep(inst.attributes || {}),
    };
  },

  newInst(o) {
    return { key: "k" + ++this.keySeq, ref: null, id: null, version: null, run: null, score: null, author: this.model.get("author") || null, attributes: {}, ...o };
  },

  // persistence (every change of the store is queued, in order, and retried until acknowledged)
  saveCreate(inst) {
    const ref = { id: null, version: null };
    inst.ref = ref;
    inst.id = null;
    const cid = "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    inst.cid = cid;
    const body = this.payload(inst), media_id = this.item && this.item.media_id;
    this.saver.enqueue({
      build: () => ({ kind: "save", op: "create", media_id, instance: { ...body, cid } }),
      onOk: (r) => {
        ref.id = r.instance_id;
        ref.version = r.version;
        if (inst.ref === ref) { inst.id = r.instance_id; inst.version = r.version; }
        this.sync();
      },
    });
  },

  saveUpdate(inst) {
    const ref = inst.ref, body = this.payload(inst), media_id = this.item && this.item.media_id;
    this.saver.enqueue({
      // the version guards against overwriting someone else's change; after a refusal the retry
      // goes without it (the user's latest edit wins) so a conflict cannot block the queue forever
      build: (attempt) => ({ kind: "save", op: "update", media_id, instance: attempt ? { ...body, id: ref.id } : { ...body, id: ref.id, version: ref.version } }),
      onOk: (r) => { ref.version = r.version; if (inst.ref === ref) inst.version = r.version; },
    });
  },

  saveDelete(inst) {
    const ref = inst.ref, media_id = this.item && this.item.media_id;
    this.saver.enqueue({ build: () => ({ kind: "save", op: "delete", media_id, instance_id: ref.id }) });
  },

  // commands (applied now, pushed on the undo stack, every step sends its saves)
  commitCreate(insts, name = "create") {
    const add = () => { for (const i of insts) { this.inst.set(i.key, i); this.saveCreate(i); } };
    const remove = () => { for (const i of insts) { this.inst.delete(i.key); this.sel.delete(i.key); this.saveDelete(i); } };
    add();
    this.undo.push({ name, undo: remove, redo: add, keys: insts.map((i) => i.key) });
    this.changed();
  },

  commitDelete(insts, name = "delete") {
    const add = () => { for (const i of insts) { this.inst.set(i.key, i); this.saveCreate(i); } };
    const remove = () => { for (const i of insts) { this.inst.delete(i.key); this.sel.delete(i.key); this.saveDelete(i); } };
    remove();
    this.undo.push({ name, undo: add, redo: remove, keys: insts.map((i) => i.key) });
    this.changed();
  },

  /** changes = [{inst, before, after}] (already applied) */
  commitUpdates(changes, name = "update") {
    for (const c of changes) this.saveUpdate(c.inst);
    this.undo.push({
      name,
      keys: changes.map((c) => c.inst.key),
      undo: () => { for (const c of changes) { this.applySnap(c.inst, c.before); this.saveUpdate(c.inst); } },
      redo: () => { for (const c of changes) { this.applySnap(c.inst, c.after); this.saveUpdate(c.inst); } },
    });
    this.changed();
  },

  changed() {
    for (const k of [...this.sel]) if (!this.inst.has(k)) this.sel.delete(k);
    if (this.selVertex && !this.sel.has(this.selVertex.key)) this.selVertex = null;
    this.refreshPanel();
    this.sync();
    this.requestDraw(true);
  },

  toggleTag(id) {
    const before = new Set(this.tags), after = new Set(this.tags);
    after.has(id) ? after.delete(id) : after.add(id);
    const apply = (s) => {
      this.tags = new Set(s);
      const tags = [...s], media_id = this.item && this.item.media_id;
      this.saver.enqueue({
        build: () => ({ kind: "tags", media_id, tags }),
        onOk: (r) => {
          if (!r.instances || !this.item || this.item.media_id !== media_id) return;
          for (const [k, i] of [...this.inst]) if (i.kind === "tag") this.inst.delete(k);
          for (const i of r.instances) { const inst = this.fromServer(i); this.inst.set(inst.key, inst); }
          this.sync();
        },
      });
      this.buildTags();
      this.sync();
    };
    apply(after);
    this.undo.push({ name: "tags", undo: () => apply(before), redo: () => apply(after) });
  },
};
