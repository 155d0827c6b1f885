// @ts-check
// nblabel annotator: anywidget entry point (ESM). Only anywidget APIs are used:
// model.get / set / on / off / save_changes / send and "msg:custom".
// `initialize` runs once per model: it makes the session (rpc client + save queue) every view of
// the model shares; `render` builds one view and returns its cleanup.
import { sessionFor, endSession } from "./session.js";
import { AnnotatorView } from "./app.js";

/** @typedef {import("./types.js").Model} Model */

/** @type {import("@anywidget/types").Initialize<Model>} */
function initialize({ model }) {
  const session = sessionFor(model);
  // unacknowledged changes: ask before the page is closed (they are retried until acknowledged)
  /** @param {BeforeUnloadEvent} e */
  const beforeUnload = (e) => { if (session.saves.pending) { e.preventDefault(); e.returnValue = ""; } };
  window.addEventListener("beforeunload", beforeUnload);
  return () => {
    window.removeEventListener("beforeunload", beforeUnload);
    endSession(model);
  };
}

/** @type {import("@anywidget/types").Render<Model>} */
function render({ model, el }) {
  const view = new AnnotatorView(model, el, sessionFor(model));
  view.start();
  return () => view.dispose();
}

export default { initialize, render };
