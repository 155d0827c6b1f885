// nblabel annotator: anywidget entry point (ESM). Only anywidget APIs are used:
// model.get / set / on / off / save_changes / send and "msg:custom".
import { Annotator } from "./app.js";

async function render({ model, el }) {
  const app = new Annotator(model, el);
  app.start();
  return () => {
    app.dispose();
    app.root.remove();
  };
}

export default { render };
