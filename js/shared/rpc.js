// Request/response over anywidget custom messages: every request carries an `id`, the kernel answers once.

export function toBytes(v) {
  if (!v) return null;
  if (v instanceof DataView) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return null;
}

export class Rpc {
  /** `rejectOnError`: a reply {ok: false, error} rejects the request's promise (else it resolves). */
  constructor(model, prefix = "js", { rejectOnError = false } = {}) {
    this.model = model;
    this.rejectOnError = rejectOnError;
    this.prefix = prefix + "-" + Math.random().toString(36).slice(2, 7) + "-";
    this.n = 0;
    this.pending = new Map();
    this.onOther = null;
    this._handler = (msg, buffers) => this._onMsg(msg, buffers);
    model.on("msg:custom", this._handler);
  }
  _onMsg(msg, buffers) {
    if (!msg || msg.id === undefined || !this.pending.has(msg.id)) {
      if (this.onOther) this.onOther(msg, buffers);
      return;
    }
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (this.rejectOnError && msg.ok === false) p.reject(new Error(msg.error || `${p.kind} failed`));
    else p.resolve({ ...msg, buffers: buffers || [] });
  }
  /** Send {kind, ...} and resolve with the reply (which includes `buffers`); reject on timeout. */
  request(msg, timeoutMs = 30000) {
    const id = this.prefix + ++this.n;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to ${msg.kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, kind: msg.kind });
      try {
        this.model.send({ ...msg, id });
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e);
      }
    });
  }
  dispose() {
    this.model.off("msg:custom", this._handler);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
