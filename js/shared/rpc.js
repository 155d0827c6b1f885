// @ts-check
// Request/response over anywidget custom messages: every request carries an `id`, the kernel answers
// once with the same `id` and `ok: true|false` (`error` when false); see js/PROTOCOL.md.

/**
 * What the client needs of an anywidget model (an `AnyModel` is one; so is js/shared/fake-model.js).
 * @typedef {object} RpcModel
 * @property {(name: "msg:custom", cb: (msg: any, buffers: DataView[]) => void) => void} on
 * @property {(name: "msg:custom", cb: (msg: any, buffers: DataView[]) => void) => void} off
 * @property {(content: any, callbacks?: any, buffers?: ArrayBuffer[] | ArrayBufferView[]) => void} send
 */

/**
 * A reply: the kernel's message plus the binary buffers that came with it.
 * @typedef {{id: string, ok?: boolean, error?: string, buffers: DataView[], [key: string]: any}} RpcReply
 */

/** @typedef {{resolve: (r: RpcReply) => void, reject: (e: Error) => void, timer: ReturnType<typeof setTimeout>, kind: string}} Pending */

/**
 * Bytes of a message buffer (DataView, ArrayBuffer or typed array) as a Uint8Array view; null otherwise.
 * @param {unknown} v
 * @returns {Uint8Array | null}
 */
export function toBytes(v) {
  if (!v) return null;
  if (v instanceof DataView) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return null;
}

/** The rejection of a request the client can no longer answer: it was disposed before (or while) waiting. */
export class RpcClosedError extends Error {
  /** @param {string} kind */
  constructor(kind) {
    super(`${kind}: the widget's message client is closed`);
    this.name = "RpcClosedError";
    this.kind = kind;
  }
}

export class Rpc {
  /**
   * One client per model: it registers its `msg:custom` listener here and removes it in `dispose()`.
   * `rejectOnError`: a reply {ok: false, error} rejects the request's promise (else it resolves).
   * @param {RpcModel} model
   * @param {string} [prefix] start of every request id (a random part follows, so two clients never collide)
   * @param {{rejectOnError?: boolean}} [options]
   */
  constructor(model, prefix = "js", { rejectOnError = false } = {}) {
    this.model = model;
    this.rejectOnError = rejectOnError;
    this.prefix = prefix + "-" + Math.random().toString(36).slice(2, 7) + "-";
    this.n = 0;
    /** @type {Map<string, Pending>} */
    this.pending = new Map();
    /** Called with messages that are not replies of this client. @type {((msg: any, buffers: DataView[]) => void) | null} */
    this.onOther = null;
    this.disposed = false;
    /** @param {any} msg @param {DataView[]} buffers */
    this._handler = (msg, buffers) => this._onMsg(msg, buffers);
    model.on("msg:custom", this._handler);
  }

  /**
   * @param {any} msg
   * @param {DataView[]} [buffers]
   */
  _onMsg(msg, buffers) {
    const id = msg && msg.id;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p) {
      // a reply to one of ours that is no longer pending (it timed out, or came twice): drop it
      if (typeof id === "string" && id.startsWith(this.prefix)) return;
      if (this.onOther) this.onOther(msg, buffers || []);
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (this.rejectOnError && msg.ok === false) p.reject(new Error(msg.error || `${p.kind} failed`));
    else p.resolve({ ...msg, buffers: buffers || [] });
  }

  /**
   * Send {kind, ...} and resolve with the reply (which includes `buffers`); reject on timeout, with an
   * `RpcClosedError` when the client is disposed first, or (with `rejectOnError`) on `ok: false`.
   * @param {{kind: string, [key: string]: any}} msg
   * @param {number} [timeoutMs]
   * @returns {Promise<RpcReply>}
   */
  request(msg, timeoutMs = 30000) {
    if (this.disposed) return Promise.reject(new RpcClosedError(msg.kind));
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

  /** Requests sent and not answered yet. */
  get size() {
    return this.pending.size;
  }

  /** Remove the listener and reject every pending request (nobody would ever answer it). */
  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    this.model.off("msg:custom", this._handler);
    const open = [...this.pending.values()];
    this.pending.clear();
    for (const p of open) {
      clearTimeout(p.timer);
      p.reject(new RpcClosedError(p.kind));
    }
  }
}
