var t={render({el:e}){e.textContent="gallery"}};export{t as default};
