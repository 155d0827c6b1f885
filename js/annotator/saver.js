// @ts-check
// Save queue: a FIFO of store-changing requests sent one at a time, retried with backoff, never dropped.
// Entries are built lazily (`build()` runs right before each attempt) so an update of a just-created
// instance picks up the id the create's reply assigned.

/** @typedef {{ok?: boolean, error?: string, [k: string]: any}} Reply */
/** @typedef {{kind: string, [k: string]: any}} Msg a request of js/PROTOCOL.md */
/** @typedef {{state: "saved" | "saving" | "failed", pending: number, error: string | null}} SaveState */
/**
 * @typedef {object} Entry
 * @property {(attempt: number) => (Msg | null)} build the message, or null when nothing is left to send
 * @property {(reply: Reply) => void} [onOk]
 * @property {boolean} [noRetry]
 * @property {(err: string, reply: Reply | null) => void} [onFail]
 * @property {number} [timeoutMs]
 */

export class SaveQueue {
  /**
   * @param {object} o
   * @param {(msg: Msg, timeoutMs: number) => Promise<Reply>} o.request resolves with the reply
   *   ({ok, ...}) or rejects on timeout
   * @param {(state: SaveState) => void} [o.onState]
   * @param {number} [o.timeoutMs]
   * @param {number[]} [o.backoff]
   * @param {(f: () => void, ms: number) => unknown} [o.setTimer]
   */
  constructor({ request, onState = () => {}, timeoutMs = 5000, backoff = [300, 1000, 2000, 4000, 8000], setTimer = (f, ms) => setTimeout(f, ms) }) {
    this.request = request;
    this.onState = onState;
    this.timeoutMs = timeoutMs;
    this.backoff = backoff;
    this.setTimer = setTimer;
    /** @type {Entry[]} */
    this.queue = [];
    this.busy = false;
    this.failed = false;
    /** @type {string | null} */
    this.error = null;
    this.attempts = 0;
    /** set by close(): the client is gone, nothing more is sent (what is pending stays counted) */
    this.closed = false;
  }
  /** Stop sending (the widget's model is gone); pending entries stay in `queue`, unsent. */
  close() {
    this.closed = true;
  }
  get pending() {
    return this.queue.length;
  }
  /** @returns {SaveState["state"]} */
  get state() {
    if (this.failed) return "failed";
    return this.queue.length ? "saving" : "saved";
  }
  /** entry = {build: (attempt) => msg|null, onOk?: (reply) => void, noRetry?, onFail?(err, reply), timeoutMs?} */
  /** @param {Entry} entry */
  enqueue(entry) {
    this.queue.push(entry);
    this._emit();
    this._pump();
  }
  _emit() {
    this.onState({ state: this.state, pending: this.queue.length, error: this.error });
  }
  async _pump() {
    if (this.closed || this.busy || !this.queue.length) return;
    this.busy = true;
    const entry = this.queue[0];
    let msg;
    try {
      msg = entry.build(this.attempts);
    } catch (e) {
      msg = null;
    }
    if (!msg) {
      // nothing to send (e.g. the instance no longer needs it)
      this.queue.shift();
      this.busy = false;
      this._emit();
      this._pump();
      return;
    }
    /** @type {Reply | null} */
    let reply = null;
    /** @type {string | null} */
    let err = null;
    try {
      reply = await this.request(msg, entry.timeoutMs || this.timeoutMs);
      if (!reply || reply.ok === false) err = (reply && reply.error) || "save refused";
    } catch (e) {
      err = (e instanceof Error && e.message) || String(e);
      if (e instanceof Error && e.name === "RpcClosedError") {
        // the client was disposed: retrying can never succeed, so stop instead of looping forever
        this.closed = true;
        this.busy = false;
        this.failed = true;
        this.error = err;
        this._emit();
        return;
      }
    }
    if (err && entry.noRetry) {
      // requests that must not be repeated (navigation, status): report and move on
      this.queue.shift();
      this.busy = false;
      try {
        entry.onFail && entry.onFail(err, reply);
      } catch (e) {
        console.error("nblabel: failure handler failed", e);
      }
      this._emit();
      this._pump();
      return;
    }
    if (err) {
      this.failed = true;
      this.error = err;
      const wait = this.backoff[Math.min(this.attempts, this.backoff.length - 1)];
      this.attempts++;
      this._emit();
      this.setTimer(() => {
        this.busy = false;
        this._pump();
      }, wait);
      return;
    }
    this.queue.shift();
    this.attempts = 0;
    this.failed = false;
    this.error = null;
    try {
      if (entry.onOk && reply) entry.onOk(reply);
    } catch (e) {
      console.error("nblabel: save reply handler failed", e);
    }
    this.busy = false;
    this._emit();
    this._pump();
  }
}
