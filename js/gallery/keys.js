// @ts-check
// The grid's keyboard: which key does what. Pure (a key and the grid's geometry in, a command out),
// so the bindings are tested in node and the widget only carries the command out.

/** @typedef {import("./types.js").Pos} Pos */

/**
 * @typedef {{move: Pos} | {command: "toggle" | "open" | "clear" | "all"}} KeyCommand
 */

/**
 * What a key press in the grid means, or null for a key the grid does not use.
 * @param {{key: string, ctrlKey?: boolean, metaKey?: boolean}} e
 * @param {{focus: Pos, cols: number, rowsPerPage: number, n: number}} g focus -1 = none
 * @returns {KeyCommand | null}
 */
export function keyCommand(e, { focus, cols, rowsPerPage, n }) {
  const cur = focus < 0 ? 0 : focus;
  const page = cols * Math.max(1, rowsPerPage);
  switch (e.key) {
    case "ArrowRight": return { move: cur + 1 };
    case "ArrowLeft": return { move: cur - 1 };
    case "ArrowDown": return { move: cur + cols };
    case "ArrowUp": return { move: cur - cols };
    case "PageDown": return { move: cur + page };
    case "PageUp": return { move: cur - page };
    case "Home": return { move: 0 };
    case "End": return { move: n - 1 };
    case " ": return focus >= 0 ? { command: "toggle" } : null;
    case "Enter": return focus >= 0 ? { command: "open" } : null;
    case "Escape": return { command: "clear" };
    case "a":
    case "A": return e.ctrlKey || e.metaKey ? { command: "all" } : null;
    default: return null;
  }
}
