// @ts-check
// Shared JSDoc types of the annotator: the wire shapes (js/PROTOCOL.md), the view state, the
// interaction modes (the pointer state machine) and the edits the tools hand to the editor.
// This module holds types only; `export {}` makes it a module for `import("./types.js")`.

/** @typedef {[number, number, number, number]} Box [x0, y0, x1, y1] in original image px */
/** @typedef {number[]} Pt [x, y] or, for keypoints, [x, y, v] */
/** @typedef {"box" | "polygon" | "keypoints" | "point" | "line" | "tag"} Kind */
/** @typedef {"select" | "box" | "polygon" | "keypoints" | "point" | "line"} ToolName */
/** @typedef {Record<string, any>} Attrs attribute values keyed by attribute name */

/**
 * An instance as the kernel sends it.
 * @typedef {object} WireInst
 * @property {number | null} id
 * @property {number | null} version
 * @property {number} label_id
 * @property {Kind} kind
 * @property {Box | null} box
 * @property {Pt[] | null} points
 * @property {Attrs} [attributes]
 * @property {string | null} [run]
 * @property {number | null} [score]
 * @property {string | null} [author]
 */

/**
 * A stored id and the version of its latest acknowledged write (shared by the saves of one instance).
 * @typedef {{id: number | null, version: number | null}} Ref
 */

/**
 * An instance in the browser: the wire fields plus a local key and the ref its saves update.
 * @typedef {object} Inst
 * @property {string} key local identifier ("k…" ground truth, "p…" prediction)
 * @property {Ref | null} ref
 * @property {number | null} id
 * @property {number | null} version
 * @property {number | null} label_id
 * @property {Kind} kind
 * @property {Box | null} box
 * @property {Pt[] | null} points
 * @property {Attrs} attributes
 * @property {string | null} run
 * @property {number | null} score
 * @property {string | null} author
 * @property {string} [cid] client id of the latest create
 * @property {boolean} [hidden] predictions: accepted or rejected
 */

/**
 * The editable part of an instance, captured before and after a change.
 * @typedef {{label_id: number | null, box: Box | null, points: Pt[] | null, attributes: Attrs}} Snap
 */

/** @typedef {{id: number, name: string}} AttrOption */
/**
 * @typedef {object} Attribute
 * @property {number} id
 * @property {string} name
 * @property {"select" | "multiselect" | "text" | "number" | "bool" | "date" | "time"} kind
 * @property {AttrOption[]} [options]
 * @property {number | null} [min]
 * @property {number | null} [max]
 * @property {number | null} [step]
 * @property {boolean} [required]
 * @property {number[] | null} [label_ids]
 * @property {{group_id: number, option_id: number} | null} [parent]
 */

/**
 * @typedef {object} Label
 * @property {number} id
 * @property {string} name
 * @property {string} [color]
 * @property {string | null} [hotkey]
 * @property {Kind[]} [spatial]
 * @property {{points: string[], skeleton?: [number, number][]} | null} [keypoints]
 */

/** @typedef {{labels?: Label[], attributes?: Attribute[], version?: number}} Schema */
/** @typedef {{name: string, color?: string}} Run */
/**
 * @typedef {object} Focus
 * @property {Box | null} [box]
 * @property {string} [kind]
 * @property {number | null} [gt_id]
 * @property {number | null} [pred_id]
 */

/**
 * A loaded queue item (the `item` of a `load` reply).
 * @typedef {object} Item
 * @property {number} index
 * @property {number} media_id
 * @property {string} [file_name]
 * @property {number} width
 * @property {number} height
 * @property {number} [display_scale]
 * @property {string} [mime]
 * @property {string} [status]
 * @property {WireInst[]} [instances]
 * @property {WireInst[]} [predictions]
 * @property {Focus | null} [focus]
 * @property {{display_width: number, display_height: number, display_scale: number, mime: string} | null} [preview]
 */

/**
 * The synced traits (Python `Annotator` -> JS).
 * @typedef {object} Model
 * @property {Schema} schema
 * @property {Run[]} runs
 * @property {number} index
 * @property {number} total
 * @property {number} completed
 * @property {string} stage
 * @property {string} author
 * @property {Focus | null} focus
 * @property {string} mode "label" | "review"
 * @property {number[]} recent_labels label ids the keys 1–9 pick with many labels, most recent first (JS -> Python too)
 */

/** @typedef {import("@anywidget/types").AnyModel<Model>} AnyModel */

/**
 * The image shown: the bitmap drawn (the preview until the full image is in) and, after the swap,
 * the preview kept for quick gesture frames.
 * @typedef {object} ImageState
 * @property {ImageBitmap | null} bitmap
 * @property {number} scale display px per original px of `bitmap`
 * @property {ImageBitmap | null} low
 * @property {number} lowScale
 */

// ---- actions: what keys, buttons and the panel ask for (app.js routes them) -------------------

/**
 * @typedef {"undo" | "redo" | "duplicate" | "select_all" | "copy_to_next" | "help" | "escape" | "delete"
 *   | "fit" | "one_to_one" | "skip" | "skip_confirm" | "skip_cancel" | "complete" | "next" | "prev"
 *   | "accept" | "reject" | "kp_not_visible" | "kp_skip" | "kp_pre_nv" | "kp_pre_skip"
 *   | "finish_drawing" | "cancel_drawing" | "undo_point" | "picker"} PlainAction
 */
/**
 * @typedef {{action: PlainAction, arg?: undefined}
 *   | {action: "label" | "tag", arg: number}
 *   | {action: "tool", arg: ToolName}
 *   | {action: "zoom" | "threshold" | "brightness" | "contrast", arg: number}
 *   | {action: "nudge", arg: [number, number]}
 *   | {action: "verdict", arg: "confirm_gt" | "delete_gt" | "accept_pred"}
 *   | {action: "set_attr", arg: {keys: string[], name: string, value: any}}
 *   | {action: "show_gt", arg: boolean}
 *   | {action: "show_run", arg: {run: string, shown: boolean}}} Action
 */

// ---- the pointer state machine: one named mode at a time -----------------------------------

/** @typedef {{type: "idle"}} IdleMode */
/**
 * Panning; `resume` is the mode to return to when the button is released (a drawing in progress).
 * @typedef {{type: "pan", sx: number, sy: number, tx: number, ty: number, resume: Mode}} PanMode
 */
/**
 * @typedef {{type: "move", x0: number, y0: number, sx: number, sy: number,
 *   before: Map<string, Snap>, moved: boolean}} MoveMode
 */
/**
 * @typedef {{type: "resize", key: string, handle: string, x0: number, y0: number, sx: number, sy: number,
 *   box0: Box, before: Snap, moved: boolean}} ResizeMode
 */
/**
 * @typedef {{type: "vertex", key: string, index: number, x0: number, y0: number, sx: number, sy: number,
 *   p0: Pt, before: Snap, moved: boolean, inserted: boolean}} VertexMode
 */
/** @typedef {{type: "band", x0: number, y0: number, x1: number, y1: number, base: Set<string>}} BandMode */
/**
 * @typedef {{type: "draw_box", x0: number, y0: number, x1: number, y1: number, sx: number, sy: number,
 *   hit: Inst | null}} DrawBoxMode
 */
/** @typedef {{type: "draw_point", x: number, y: number}} DrawPointMode */
/** @typedef {{type: "draw_path", kind: "polygon" | "line", pts: Pt[], cursor: Pt}} DrawPathMode */
/**
 * @typedef {{type: "draw_keypoints", placer: import("./keypoints.js").KeypointPlacer, cursor: Pt}} DrawKeypointsMode
 */
/**
 * @typedef {IdleMode | PanMode | MoveMode | ResizeMode | VertexMode | BandMode | DrawBoxMode
 *   | DrawPointMode | DrawPathMode | DrawKeypointsMode} Mode
 */

// ---- edits: what tools return and the editor applies ----------------------------------------

/** @typedef {{key: string, before: Snap, after: Snap}} Change */
/** @typedef {{box: Box | null, points: Pt[] | null}} Geom */
/**
 * create / delete / update are undoable and saved; `live` sets geometry during a gesture (no save,
 * no undo; also used to put a cancelled gesture back). A live geometry is used as given (not copied).
 * @typedef {{type: "create", insts: Inst[], name: string}
 *   | {type: "delete", keys: string[], name: string}
 *   | {type: "update", changes: Change[], name: string}
 *   | {type: "live", geoms: Map<string, Geom>}} Edit
 */

/**
 * What a tool handler returns: the next mode and what to do. Every field is optional; a missing `mode`
 * keeps the current one.
 * @typedef {object} Step
 * @property {Mode} [mode]
 * @property {Edit} [edit]
 * @property {string[]} [select] the new selection (keys)
 * @property {{key: string, index: number} | null} [selVertex]
 * @property {Inst | null} [selPred] the selected prediction
 * @property {{text: string, error?: boolean}} [message]
 * @property {boolean} [redraw] redraw the overlay
 * @property {("v" | "n")[] | null} [pendingKp] keypoint marks for the next drawing
 * @property {{tx: number, ty: number}} [pan] move the view (a pan gesture)
 */

/**
 * A pointer event as the tools see it.
 * @typedef {object} PointerCtx
 * @property {number} x image px, clamped to the image
 * @property {number} y
 * @property {number} ux image px, not clamped (moves and hover)
 * @property {number} uy
 * @property {number} sx screen px inside the canvas
 * @property {number} sy
 * @property {number} tol hit tolerance in image px
 * @property {boolean} shift
 * @property {boolean} alt
 */

/**
 * One tool or gesture: handlers read the state and return a Step (they change nothing themselves).
 * @typedef {object} Tool
 * @property {(s: import("./state.js").State, c: PointerCtx) => Step | null} [down]
 * @property {(s: import("./state.js").State, c: PointerCtx) => Step | null} [move]
 * @property {(s: import("./state.js").State, c: PointerCtx, cancelled: boolean) => Step | null} [up]
 * @property {(s: import("./state.js").State, action: string) => Step | null} [key]
 */

export {};
