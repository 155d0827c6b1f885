// @ts-check
// Which tool handles a pointer event: the gesture or drawing in progress owns every event until it
// ends (the state machine's current mode); in `idle` the chosen tool gets the pointer down.
import { selectTool } from "./select.js";
import { boxTool } from "./box.js";
import { pointTool } from "./point.js";
import { polygonTool, lineTool } from "./path.js";
import { keypointsTool } from "./keypoints.js";
import { moveGesture, resizeGesture, vertexGesture } from "./gestures.js";
import { bandGesture } from "./band.js";
import { panGesture } from "./pan.js";

/** @typedef {import("../types.js").Tool} Tool */

/** @type {Record<import("../types.js").ToolName, Tool>} */
export const TOOLS = { select: selectTool, box: boxTool, point: pointTool, polygon: polygonTool, line: lineTool, keypoints: keypointsTool };

/**
 * @param {import("../state.js").State} s
 * @returns {Tool}
 */
export function toolFor(s) {
  const m = s.mode;
  switch (m.type) {
    case "idle": return TOOLS[s.tool];
    case "pan": return panGesture;
    case "move": return moveGesture;
    case "resize": return resizeGesture;
    case "vertex": return vertexGesture;
    case "band": return bandGesture;
    case "draw_box": return boxTool;
    case "draw_point": return pointTool;
    case "draw_path": return m.kind === "polygon" ? polygonTool : lineTool;
    case "draw_keypoints": return keypointsTool;
  }
}
