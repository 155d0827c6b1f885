// @ts-check
// The gallery's shared JSDoc types (no runtime code): the synced traits, the decoded tables and the
// words the parts use for "an item" and "a place in the grid". Imported with `import("./types.js")`.

/**
 * The synced traits of the Python `Gallery` (widgets/_gallery.py).
 * @typedef {object} Model
 * @property {number} size longest side of a thumbnail, px
 * @property {number} count items in the slice
 * @property {string} sort column the grid is sorted by ("-name" = descending, "" = as loaded)
 * @property {string[]} columns slice columns shown in the info line and offered for sorting
 * @property {RunInfo[]} runs model runs whose predictions are drawn
 * @property {LabelInfo[]} labels labels of the schema (tag labels fill the "Tag" menu)
 * @property {string} stage the stage "mark for review" writes to
 * @property {number} items_version bumped by `Gallery.refresh()`: fetch the tables again
 * @property {string} color_by the column colouring the frames ("" = none)
 * @property {string} group_by the column whose groups start new rows ("" = none)
 * @property {LegendEntry[]} legend color_by's value → colour
 */

/** @typedef {{value: string, color: string}} LegendEntry */

/** @typedef {{name: string, color?: string}} RunInfo */
/** @typedef {{id: number, name: string, color?: string, tag?: boolean}} LabelInfo */

/** @typedef {import("@anywidget/types").AnyModel<Model>} GalleryModel */

/**
 * A row of the item table. Rows are what the selection holds and what the kernel's ids map to.
 * @typedef {number} Item
 */

/**
 * A place in the grid in view (sorted) order: `order[pos]` is the item shown there.
 * @typedef {number} Pos
 */

/**
 * A numeric column as the gallery reads it: a typed array, nulls as NaN.
 * @typedef {Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array} NumberColumn
 */

/**
 * A text column: values decoded on demand, nulls as "".
 * @typedef {object} TextColumn
 * @property {number} length
 * @property {(i: number) => string} get the value of row i
 * @property {() => string[]} all every value (decoded once, then kept)
 */

/** @typedef {NumberColumn | TextColumn} Column */

/**
 * A decoded Arrow table: columns by name, in the stream's order.
 * @typedef {object} Table
 * @property {number} numRows
 * @property {string[]} names
 * @property {Record<string, Column>} columns
 */

/**
 * The overlay boxes, sorted by item (see project/_gallery.py).
 * @typedef {object} Boxes
 * @property {NumberColumn} item row of the item table
 * @property {NumberColumn} x0 original pixels
 * @property {NumberColumn} y0
 * @property {NumberColumn} x1
 * @property {NumberColumn} y1
 * @property {NumberColumn} src 0 = ground truth, k = the k-th run
 * @property {NumberColumn} status 0 gt, 1 tp, 2 fp, 3 fn (a GT box the run missed)
 */

/**
 * What the grid shows: the item table, the boxes, and shortcuts to the columns every frame reads.
 * @typedef {object} Items
 * @property {number} n items
 * @property {Record<string, Column>} items every column of the item table
 * @property {Boxes} boxes
 * @property {number} nBoxes
 * @property {string[]} runs run names, in `src` order (src k = runs[k - 1])
 * @property {string[]} columns the shown slice columns
 * @property {NumberColumn} mediaIds
 * @property {TextColumn} names file names
 * @property {NumberColumn} W original width, px
 * @property {NumberColumn} H original height, px
 * @property {Int32Array} off boxes of item i are [off[i], off[i + 1])
 * @property {TextColumn | null} color frame colour per item ("" = none), from the `@color` column
 * @property {NumberColumn | null} group group rank per item (`@group`): groups start new rows
 * @property {NumberColumn | null} keep 1 for the member its group keeps (`@keep`)
 * @property {LegendEntry[]} legend color_by's value → colour
 * @property {string} colorBy
 * @property {string} groupBy
 */

/**
 * Which overlay layers are shown (the toolbar's checkboxes).
 * @typedef {{gt: boolean, runs: boolean[]}} Overlay
 */

/** @typedef {{shift?: boolean, toggle?: boolean}} ClickMods */

export {};
