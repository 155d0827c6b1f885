// @ts-check
// One <style> element, scoped with the nbl- prefix; JupyterLab CSS variables with light fallbacks.
export const CSS = `
.nblabel-annotator{--nbl-bg:var(--jp-layout-color1,#fff);--nbl-bg2:var(--jp-layout-color2,#eee);--nbl-fg:var(--jp-ui-font-color1,#222);
--nbl-fg2:var(--jp-ui-font-color2,#666);--nbl-border:var(--jp-border-color1,#bbb);--nbl-accent:var(--jp-brand-color1,#1976d2);
--nbl-warn:var(--jp-warn-color1,#f57c00);--nbl-err:var(--jp-error-color1,#d32f2f);--nbl-ok:var(--jp-success-color1,#388e3c);
font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:12px;color:var(--nbl-fg);background:var(--nbl-bg);
border:1px solid var(--nbl-border);border-radius:4px;outline:none;display:flex;flex-direction:column;user-select:none;-webkit-user-select:none;position:relative}
.nblabel-annotator:focus,.nblabel-annotator:focus-within{border-color:var(--nbl-accent)}
.nbl-bar{display:flex;flex-wrap:wrap;gap:4px;align-items:center;padding:4px;border-bottom:1px solid var(--nbl-border);background:var(--nbl-bg2)}
.nbl-queue{border-top:1px solid var(--nbl-border);border-bottom:none}
.nbl-group{display:flex;gap:2px;align-items:center;padding-right:6px;margin-right:2px;border-right:1px solid var(--nbl-border)}
.nbl-btn,.nbl-chip{font:inherit;color:var(--nbl-fg);background:var(--nbl-bg);border:1px solid var(--nbl-border);border-radius:3px;padding:2px 6px;cursor:pointer;white-space:nowrap}
.nbl-btn:hover,.nbl-chip:hover{border-color:var(--nbl-accent)}
.nbl-btn[aria-pressed=true],.nbl-chip[aria-pressed=true]{background:var(--nbl-accent);color:#fff;border-color:var(--nbl-accent)}
.nbl-btn:disabled{opacity:.5;cursor:default}
.nbl-chip{border-radius:10px;display:inline-flex;align-items:center;gap:4px}
.nbl-swatch{width:9px;height:9px;border-radius:50%;display:inline-block;flex:none}
.nbl-key{font-size:10px;color:var(--nbl-fg2)}
.nbl-chip[aria-pressed=true] .nbl-key{color:#fff}
.nbl-main{display:flex;flex-wrap:wrap;min-height:0}
.nbl-stage{position:relative;flex:1 1 360px;min-width:240px;height:560px;overflow:hidden;background:#1e1e1e;resize:vertical}
.nblabel-canvas{display:block;width:100%;height:100%;touch-action:none;cursor:crosshair}
.nbl-side{flex:0 0 240px;max-width:100%;overflow:auto;border-left:1px solid var(--nbl-border);padding:6px;box-sizing:border-box;max-height:560px}
.nbl-side h4{margin:6px 0 4px;font-size:12px}
.nbl-field{margin:4px 0 8px}
.nbl-field>.nbl-name{display:block;font-weight:600;margin-bottom:2px}
.nbl-field.nbl-missing>.nbl-name{color:var(--nbl-err)}
.nbl-req{color:var(--nbl-err);margin-left:2px}
.nbl-field input[type=text],.nbl-field input[type=number],.nbl-field input[type=date],.nbl-field input[type=time],.nbl-field select{font:inherit;color:var(--nbl-fg);background:var(--nbl-bg);border:1px solid var(--nbl-border);border-radius:3px;padding:1px 3px;max-width:100%;box-sizing:border-box}
.nbl-field input[type=number]{width:70px}
.nbl-field input[type=range]{width:120px;vertical-align:middle}
.nbl-opt{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.nbl-muted{color:var(--nbl-fg2)}
.nbl-save{padding:1px 6px;border-radius:3px;font-weight:600}
.nbl-save[data-state=saved]{color:var(--nbl-ok)}
.nbl-save[data-state=saving]{color:var(--nbl-warn)}
.nbl-save[data-state=failed]{color:#fff;background:var(--nbl-err)}
.nbl-msg{flex:1 1 200px;color:var(--nbl-fg2);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.nbl-msg.nbl-error{color:var(--nbl-err);white-space:normal}
.nbl-help{position:absolute;inset:8px;overflow:auto;background:rgba(20,20,20,.92);color:#eee;padding:10px;border-radius:6px;z-index:5}
.nbl-help table{border-collapse:collapse}.nbl-help td{padding:1px 8px;vertical-align:top}.nbl-help td:first-child{font-family:monospace;white-space:nowrap;color:#ffd54f}
.nbl-dialog{position:absolute;left:50%;top:12px;transform:translateX(-50%);background:var(--nbl-bg);color:var(--nbl-fg);border:1px solid var(--nbl-border);border-radius:4px;padding:8px;z-index:6;display:flex;gap:4px;align-items:center}
.nbl-dialog input{font:inherit;width:220px}
.nbl-slider{display:inline-flex;align-items:center;gap:2px}.nbl-slider input{width:70px}
.nbl-hidden{display:none!important}
.nbl-layer{display:flex;align-items:center;gap:4px;margin:2px 0}
.nbl-labels.nbl-many{flex-wrap:wrap;row-gap:2px;min-width:0;max-width:100%;box-sizing:border-box}
.nbl-labels.nbl-many .nbl-chip-name{max-width:9em;overflow:hidden;text-overflow:ellipsis}
.nbl-picker{position:absolute;z-index:7;width:260px;max-width:calc(100% - 8px);box-sizing:border-box;background:var(--nbl-bg);color:var(--nbl-fg);border:1px solid var(--nbl-accent);border-radius:4px;box-shadow:0 2px 8px rgba(0,0,0,.3);padding:4px;display:flex;flex-direction:column;gap:4px}
.nbl-picker-input{font:inherit;color:var(--nbl-fg);background:var(--nbl-bg);border:1px solid var(--nbl-border);border-radius:3px;padding:3px 5px;box-sizing:border-box;width:100%}
.nbl-picker-list{position:relative;max-height:280px;overflow-y:auto}
.nbl-picker-row{display:flex;align-items:center;gap:6px;padding:2px 6px;border-radius:3px;cursor:pointer;white-space:nowrap}
.nbl-picker-row[aria-selected=true]{background:var(--nbl-accent);color:#fff}
.nbl-picker-row[aria-selected=true] .nbl-key{color:#fff}
.nbl-picker-name{flex:1;overflow:hidden;text-overflow:ellipsis}
.nbl-picker-empty{padding:2px 6px}
`;
