// @ts-check
// Active time on the current item: counted while the widget has the focus, the page is visible and
// the last input is less than IDLE_MS old (sent with status changes as `seconds_active`).
import { IDLE_MS } from "./common.js";

export class Activity {
  /**
   * @param {object} o
   * @param {() => boolean} o.focused the widget has the keyboard focus
   * @param {DOMStringMap} o.data the root's dataset (data-active-seconds)
   */
  constructor({ focused, data }) {
    this.focused = focused;
    this.data = data;
    this.activeMs = 0;
    this.lastInput = 0;
    this.lastTick = performance.now();
  }

  /** An input (pointer, key, typing) happened now. */
  input() {
    this.lastInput = performance.now();
  }

  tick() {
    const now = performance.now(), dt = now - this.lastTick;
    this.lastTick = now;
    if (this.focused() && now - this.lastInput < IDLE_MS && !document.hidden) this.activeMs += dt;
    this.data.activeSeconds = (this.activeMs / 1000).toFixed(1);
  }

  /** Seconds active so far, to 0.1 s. */
  seconds() {
    this.tick();
    return Math.round(this.activeMs / 100) / 10;
  }

  reset() {
    this.activeMs = 0;
  }
}
