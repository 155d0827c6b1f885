// @ts-check
// Canvas drawing of the image and overlays. Coordinates are transformed to screen px by hand so line
// widths stay constant; instances are batched by colour into one path per colour (1,000 boxes = a few paths).
import { boxHandles } from "./geometry.js";

/** @typedef {{s: number, tx: number, ty: number, toScreen?: Function}} V a view (screen = image * s + t) */
/** @typedef {{kind: string, label_id: number | null, box?: import("./types.js").Box | null, points?: import("./types.js").Pt[] | null}} Drawable */
/**
 * @typedef {object} DrawOpts
 * @property {(inst: any) => string} colorOf
 * @property {boolean} [dashed]
 * @property {number} [lineWidth]
 * @property {number} [fillAlpha]
 * @property {Map<number, import("./types.js").Label>} [labels]
 * @property {((inst: any) => string) | null} [text]
 */

const PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff"];
/** @param {number} i */
export const paletteColor = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];

/** @param {CanvasRenderingContext2D} ctx @param {V} v @param {Drawable} inst */
function addShape(ctx, v, inst) {
  const { s, tx, ty } = v;
  /** @param {number} x */
  const X = (x) => x * s + tx;
  /** @param {number} y */
  const Y = (y) => y * s + ty;
  const k = inst.kind;
  if (k === "box") {
    const b = inst.box;
    if (!b) return;
    ctx.rect(X(b[0]), Y(b[1]), (b[2] - b[0]) * s, (b[3] - b[1]) * s);
  } else if (k === "polygon" || k === "line") {
    const p = inst.points || [];
    if (!p.length) return;
    ctx.moveTo(X(p[0][0]), Y(p[0][1]));
    for (let i = 1; i < p.length; i++) ctx.lineTo(X(p[i][0]), Y(p[i][1]));
    if (k === "polygon") ctx.closePath();
  }
}

/** @param {CanvasRenderingContext2D} ctx @param {V} v @param {import("./types.js").Pt[]} pts @param {number} r */
function addDots(ctx, v, pts, r) {
  const { s, tx, ty } = v;
  for (const p of pts) {
    if (p.length > 2 && p[2] === 0) continue;
    const x = p[0] * s + tx, y = p[1] * s + ty;
    ctx.moveTo(x + r, y);
    ctx.arc(x, y, r, 0, Math.PI * 2);
  }
}

/** @param {CanvasRenderingContext2D} ctx @param {V} v @param {Drawable} inst @param {[number, number][] | null | undefined} skeleton */
function addSkeleton(ctx, v, inst, skeleton) {
  const { s, tx, ty } = v;
  const p = inst.points || [];
  for (const [i, j] of skeleton || []) {
    const a = p[i], b = p[j];
    if (!a || !b || a[2] === 0 || b[2] === 0) continue;
    ctx.moveTo(a[0] * s + tx, a[1] * s + ty);
    ctx.lineTo(b[0] * s + tx, b[1] * s + ty);
  }
}

/**
 * Draw a list of instances. opts = {colorOf(inst), dashed, lineWidth, fillAlpha, labels: Map, text(inst)|null}
 * @param {CanvasRenderingContext2D} ctx @param {V} v @param {Drawable[]} list @param {DrawOpts} opts
 */
export function drawInstances(ctx, v, list, opts) {
  /** @type {Map<string, Drawable[]>} */
  const groups = new Map();
  for (const inst of list) {
    const c = opts.colorOf(inst);
    let g = groups.get(c);
    if (!g) groups.set(c, (g = []));
    g.push(inst);
  }
  ctx.lineWidth = opts.lineWidth || 1.5;
  ctx.setLineDash(opts.dashed ? [6, 4] : []);
  for (const [color, g] of groups) {
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    // areas + lines
    ctx.beginPath();
    for (const inst of g) addShape(ctx, v, inst);
    if (opts.fillAlpha) {
      ctx.globalAlpha = opts.fillAlpha;
      ctx.fill("evenodd");
      ctx.globalAlpha = 1;
    }
    ctx.stroke();
    // skeletons
    ctx.beginPath();
    let any = false;
    for (const inst of g) {
      if (inst.kind !== "keypoints") continue;
      const lab = opts.labels && inst.label_id != null ? opts.labels.get(inst.label_id) : undefined;
      addSkeleton(ctx, v, inst, lab && lab.keypoints && lab.keypoints.skeleton);
      any = true;
    }
    if (any) ctx.stroke();
    // dots
    ctx.beginPath();
    any = false;
    for (const inst of g) {
      if (inst.kind === "point" || inst.kind === "keypoints") {
        addDots(ctx, v, inst.points || [], inst.kind === "point" ? 4 : 3.5);
        any = true;
      }
    }
    if (any) {
      ctx.setLineDash([]);
      ctx.fill();
      ctx.setLineDash(opts.dashed ? [6, 4] : []);
    }
    // not-visible keypoints: hollow
    ctx.beginPath();
    any = false;
    for (const inst of g) {
      if (inst.kind !== "keypoints") continue;
      for (const p of inst.points || []) {
        if (p[2] === 1) {
          const x = p[0] * v.s + v.tx, y = p[1] * v.s + v.ty;
          ctx.moveTo(x + 5.5, y);
          ctx.arc(x, y, 5.5, 0, Math.PI * 2);
          any = true;
        }
      }
    }
    if (any) ctx.stroke();
  }
  ctx.setLineDash([]);
  if (opts.text) {
    ctx.font = "11px sans-serif";
    ctx.textBaseline = "bottom";
    for (const inst of list) {
      const t = opts.text(inst);
      if (!t || !inst.box) continue;
      const x = inst.box[0] * v.s + v.tx, y = inst.box[1] * v.s + v.ty;
      const w = ctx.measureText(t).width + 4;
      ctx.fillStyle = "rgba(0,0,0,.6)";
      ctx.fillRect(x, y - 13, w, 13);
      ctx.fillStyle = opts.colorOf(inst);
      ctx.fillText(t, x + 2, y - 1);
    }
  }
}

/**
 * Selection decorations: thicker outline, box handles, vertices.
 * @param {CanvasRenderingContext2D} ctx @param {V} v @param {Drawable} inst @param {string} color
 * @param {{index: number} | null} selVertex
 */
export function drawSelection(ctx, v, inst, color, selVertex) {
  ctx.save();
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1;
  ctx.setLineDash([3, 3]);
  if (inst.box) {
    const b = inst.box;
    ctx.strokeRect(b[0] * v.s + v.tx - 2, b[1] * v.s + v.ty - 2, (b[2] - b[0]) * v.s + 4, (b[3] - b[1]) * v.s + 4);
  }
  ctx.setLineDash([]);
  /** @param {number} x @param {number} y @param {number} r @param {string} fill */
  const sq = (x, y, r, fill) => {
    ctx.fillStyle = fill;
    ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    ctx.strokeStyle = "#000";
    ctx.strokeRect(x - r, y - r, 2 * r, 2 * r);
  };
  if (inst.kind === "box" && inst.box) {
    for (const hd of boxHandles(inst.box)) sq(hd.x * v.s + v.tx, hd.y * v.s + v.ty, 4, "#fff");
  } else if (inst.points) {
    inst.points.forEach((p, i) => {
      if (p.length > 2 && p[2] === 0) return;
      const sel = selVertex && selVertex.index === i;
      sq(p[0] * v.s + v.tx, p[1] * v.s + v.ty, sel ? 5 : 3.5, sel ? "#ffeb3b" : color);
    });
  }
  ctx.restore();
}
