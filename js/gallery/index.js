export default { render({ el }) { el.textContent = "gallery"; } };
