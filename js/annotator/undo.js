// @ts-check
// Undo/redo stack of commands {name, undo(), redo()}; the action itself has already been applied on push.

/** @typedef {{name: string, undo: () => void, redo: () => void, keys?: string[]}} Command */

export class UndoStack {
  constructor(limit = 500) {
    /** @type {Command[]} */
    this.done = [];
    /** @type {Command[]} */
    this.undone = [];
    this.limit = limit;
  }
  /** @param {Command} cmd */
  push(cmd) {
    this.done.push(cmd);
    if (this.done.length > this.limit) this.done.shift();
    this.undone.length = 0;
  }
  get canUndo() {
    return this.done.length > 0;
  }
  get canRedo() {
    return this.undone.length > 0;
  }
  undo() {
    const c = this.done.pop();
    if (!c) return null;
    c.undo();
    this.undone.push(c);
    return c;
  }
  redo() {
    const c = this.undone.pop();
    if (!c) return null;
    c.redo();
    this.done.push(c);
    return c;
  }
  clear() {
    this.done.length = 0;
    this.undone.length = 0;
  }
}
