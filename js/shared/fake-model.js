// @ts-check
// A stand-in for an anywidget model in node tests: traits in a plain object, `on`/`off` listeners per
// event, and `send` recorded so a test can play the kernel (`message(...)` delivers its reply).

/** @typedef {(...args: any[]) => void} Listener */

/** @template {Record<string, any>} [T=Record<string, any>] */
export class FakeModel {
  /** @param {T} [state] */
  constructor(state) {
    /** @type {T} */
    this.state = /** @type {T} */ ({ ...state });
    /** @type {Map<string, Listener[]>} */
    this.listeners = new Map();
    /** Every message the widget sent, in order: {content, buffers}. @type {{content: any, buffers: any[]}[]} */
    this.sent = [];
    /** Made `send` throw (a closed comm). @type {Error | null} */
    this.sendError = null;
    this.saves = 0;
    /** Unused by the widgets; here so the fake has an AnyModel's shape. */
    this.widget_manager = { get_model: () => Promise.reject(new Error("no widget manager in a FakeModel")) };
  }

  /**
   * @template {keyof T} K
   * @param {K} key
   * @returns {T[K]}
   */
  get(key) {
    return this.state[key];
  }

  /**
   * @template {keyof T} K
   * @param {K} key
   * @param {T[K]} value
   */
  set(key, value) {
    this.state[key] = value;
    this.emit(`change:${String(key)}`);
  }

  save_changes() {
    this.saves++;
  }

  /**
   * @param {string} name
   * @param {Listener} cb
   */
  on(name, cb) {
    const l = this.listeners.get(name) || [];
    l.push(cb);
    this.listeners.set(name, l);
  }

  /**
   * anywidget's `off`: without a callback every listener of the event goes, without a name every listener.
   * @param {string | null} [name]
   * @param {Listener | null} [cb]
   */
  off(name, cb) {
    if (!name) return this.listeners.clear();
    if (!cb) return void this.listeners.delete(name);
    this.listeners.set(name, (this.listeners.get(name) || []).filter((f) => f !== cb));
  }

  /** @param {string} name */
  count(name) {
    return (this.listeners.get(name) || []).length;
  }

  /**
   * @param {string} name
   * @param {...any} args
   */
  emit(name, ...args) {
    for (const f of [...(this.listeners.get(name) || [])]) f(...args);
  }

  /**
   * @param {any} content
   * @param {any} [_callbacks]
   * @param {any[]} [buffers]
   */
  send(content, _callbacks, buffers) {
    if (this.sendError) throw this.sendError;
    this.sent.push({ content, buffers: buffers || [] });
  }

  /** The last message sent. */
  get last() {
    const m = this.sent[this.sent.length - 1];
    if (!m) throw new Error("nothing was sent");
    return m.content;
  }

  /**
   * Play the kernel: a custom message to the widget (what `Widget.send(content, buffers)` delivers).
   * @param {any} content
   * @param {DataView[]} [buffers]
   */
  message(content, buffers = []) {
    this.emit("msg:custom", content, buffers);
  }
}
