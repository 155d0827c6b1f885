// @ts-check
// The gallery's toolbar and styles. Text from data (labels, runs, column names) only via textContent.

import { h } from "../shared/dom.js";

/** @typedef {import("./types.js").Overlay} Overlay */
/** @typedef {import("./types.js").RunInfo} RunInfo */
/** @typedef {import("./types.js").LabelInfo} LabelInfo */
/** @typedef {import("./types.js").LegendEntry} LegendEntry */

const LEGEND_MAX = 16; // entries listed; the rest are counted

/**
 * What the toolbar's controls ask for.
 * @typedef {object} ToolbarCallbacks
 * @property {(name: string, desc: boolean) => void} onSort a column ("" = as loaded), descending or not
 * @property {() => void} onOverlay a layer was shown or hidden
 * @property {(labelId: number) => void} onTag tag the selection
 * @property {(name: string) => void} onDataset add the selection to a dataset ("" = no name typed)
 * @property {() => void} onMark mark the selection for review
 */

/** @typedef {ReturnType<typeof toolbar>} Toolbar */

export const STATUS_COLORS = ["#34c6f4", "#3cb44b", "#e6194b", "#f58231"]; // gt, tp, fp, missed (fn)

export const CSS = `
.nblabel-gallery { font: 12px/1.4 system-ui, sans-serif; color: #222; outline: none; border: 1px solid #ddd;
  border-radius: 4px; background: #fafafa; user-select: none; }
.nblabel-gallery:focus-visible { border-color: #4363d8; }
.nbl-g-bar { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; padding: 6px 8px;
  border-bottom: 1px solid #ddd; }
.nbl-g-bar label { display: inline-flex; align-items: center; gap: 3px; }
.nbl-g-bar select, .nbl-g-bar input, .nbl-g-bar button { font: inherit; }
.nbl-g-legend label, .nbl-g-colors label { margin-right: 6px; }
.nbl-g-colors label { display: inline-flex; align-items: center; gap: 3px; }
.nbl-g-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.nbl-g-stage { position: relative; height: 560px; background: #1e1e1e; }
.nbl-g-canvas { position: absolute; left: 0; top: 0; pointer-events: none; }
.nbl-g-scroller { position: absolute; inset: 0; overflow-y: auto; overflow-x: hidden; }
.nbl-g-spacer { width: 1px; }
.nbl-g-info, .nbl-g-status { padding: 4px 8px; min-height: 1.4em; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.nbl-g-status.err { color: #c00; }
`;

/**
 * Build the toolbar.
 * @param {ToolbarCallbacks} cb
 */
export function toolbar(cb) {
  const sortSel = h("select", { cls: "nbl-g-sort", attrs: { "aria-label": "sort by" } });
  const desc = h("input", { props: { type: "checkbox" }, cls: "nbl-g-desc" });
  const fireSort = () => cb.onSort(sortSel.value, desc.checked);
  sortSel.addEventListener("change", fireSort);
  desc.addEventListener("change", fireSort);
  const gt = h("input", { props: { type: "checkbox", checked: true }, cls: "nbl-g-gt", on: { change: () => cb.onOverlay() } });
  const runBox = h("span", { cls: "nbl-g-runs" });
  const legend = h("span", { cls: "nbl-g-legend" }, ["tp", "fp", "missed"].map((t, k) =>
    h("label", {}, [h("span", { cls: "nbl-g-swatch", style: { background: STATUS_COLORS[k + 1] } }), t])));
  const colorLegend = h("span", { cls: "nbl-g-colors" });
  const count = h("span", { cls: "nbl-g-count", text: "0 selected" });
  const labelSel = h("select", { cls: "nbl-g-label", attrs: { "aria-label": "tag label" } });
  const tagBtn = h("button", { cls: "nbl-g-tag", text: "Tag", on: { click: () => cb.onTag(Number(labelSel.value)) } });
  const dsName = h("input", { cls: "nbl-g-dataset", props: { type: "text", placeholder: "dataset name", size: 12 } });
  const dsBtn = h("button", { cls: "nbl-g-add", text: "Add to dataset", on: { click: () => cb.onDataset(dsName.value.trim()) } });
  const markBtn = h("button", { cls: "nbl-g-mark", text: "Mark for review", on: { click: () => cb.onMark() } });
  const el = h("div", { cls: "nbl-g-bar" }, [
    h("label", {}, ["sort ", sortSel]), h("label", {}, [desc, "desc"]),
    h("label", {}, [gt, h("span", { cls: "nbl-g-swatch", style: { background: STATUS_COLORS[0] } }), "GT"]),
    runBox, legend, colorLegend, count, labelSel, tagBtn, dsName, dsBtn, markBtn,
  ]);
  /** @type {HTMLInputElement[]} */
  let runChecks = [];
  const api = {
    el,
    /** @param {string[]} names @param {string} current "" | "name" | "-name" */
    setColumns(names, current) {
      sortSel.replaceChildren(h("option", { text: "(as loaded)", props: { value: "" } }),
        ...names.map((n) => h("option", { text: n, props: { value: n } })));
      const name = (current || "").replace(/^-/, "");
      sortSel.value = names.includes(name) ? name : "";
      desc.checked = (current || "").startsWith("-");
    },
    /** @param {RunInfo[]} runs */
    setRuns(runs) {
      runChecks = runs.map(() => h("input", { props: { type: "checkbox", checked: true }, on: { change: () => cb.onOverlay() } }));
      runBox.replaceChildren(...runs.map((r, k) => h("label", { cls: "nbl-g-run" }, [runChecks[k], r.name])));
      legend.style.display = runs.length ? "" : "none";
    },
    /** @param {LabelInfo[]} labels */
    setLabels(labels) {
      const tags = labels.filter((l) => l.tag);
      labelSel.replaceChildren(...tags.map((l) => h("option", { text: l.name, props: { value: String(l.id) } })));
      labelSel.style.display = tagBtn.style.display = tags.length ? "" : "none";
    },
    /**
     * The frame colours: "column: value ■ value ■ ..." (text only), hidden without color_by.
     * @param {string} column
     * @param {LegendEntry[]} entries
     */
    setLegend(column, entries) {
      const shown = entries.slice(0, LEGEND_MAX).map((e) =>
        h("label", { cls: "nbl-g-color" }, [h("span", { cls: "nbl-g-swatch", style: { background: e.color } }), e.value]));
      const more = entries.length > LEGEND_MAX ? [h("span", { text: `+${entries.length - LEGEND_MAX} more` })] : [];
      colorLegend.replaceChildren(...(column ? [h("span", { text: `${column}: ` }), ...shown, ...more] : []));
      colorLegend.style.display = column ? "" : "none";
    },
    /** @returns {Overlay} */
    overlays() { return { gt: gt.checked, runs: runChecks.map((c) => c.checked) }; },
    /** @param {number} n */
    setSelected(n) {
      count.textContent = `${n.toLocaleString()} selected`;
      for (const b of [tagBtn, dsBtn, markBtn]) b.disabled = n === 0;
    },
  };
  api.setSelected(0);
  return api;
}
