// @ts-check
// Keypoint placement in template order: place / mark-not-visible / skip.

export class KeypointPlacer {
  /** @param {string[]} names template point names */
  constructor(names) {
    this.names = names;
    /** @type {number[][]} */
    this.points = names.map(() => [0, 0, 0]);
    this.next = 0;
    this.pendingV = 2; // visibility for the next placed point
  }
  get done() {
    return this.next >= this.names.length;
  }
  get nextName() {
    return this.done ? null : this.names[this.next];
  }
  /** Mark the next placed point as labeled-but-not-visible (v=1). */
  markNotVisible() {
    this.pendingV = 1;
  }
  /** Skip the next point (v=0, not labeled). */
  skip() {
    if (this.done) return;
    this.points[this.next] = [0, 0, 0];
    this.next++;
    this.pendingV = 2;
  }
  /** @param {number} x @param {number} y */
  place(x, y) {
    if (this.done) return;
    this.points[this.next] = [x, y, this.pendingV];
    this.next++;
    this.pendingV = 2;
  }
  /** A copy (tools return new modes instead of changing the current one). */
  clone() {
    const c = new KeypointPlacer(this.names);
    c.points = this.points.map((p) => p.slice());
    c.next = this.next;
    c.pendingV = this.pendingV;
    return c;
  }
  /** Number of labeled points (v > 0) so far. */
  get labeled() {
    return this.points.filter((p) => p[2] > 0).length;
  }
  /** @returns {number[][]} */
  result() {
    return this.points.map((p) => p.slice());
  }
}
