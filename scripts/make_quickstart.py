"""Write notebooks/01_quickstart.ipynb (run from the repo root). Outputs are not stored: nbval runs it."""

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# nblabel quickstart\n\n"
        "A project is one DuckDB file holding the schema, the media, every instance (ground truth and model "
        "predictions) with its full history, statuses and snapshots. This notebook builds one from the bundled "
        "sample (7 COCO photos, shrunk; see `sample/ATTRIBUTION.md`)."),
    nbf.v4.new_code_cell(
        "from pathlib import Path\n"
        "import shutil\n"
        "import nblabel as nl\n\n"
        "work = Path('_work'); shutil.rmtree(work, ignore_errors=True); work.mkdir()\n"
        "proj = nl.open(work / 'quickstart.duckdb', author='demo')\n"
        "proj"),
    nbf.v4.new_markdown_cell("## Schema\nLabels say *what*, spatial types say *where*, attributes are typed questions."),
    nbf.v4.new_code_cell(
        "proj.schema.add_label('person', spatial=['box', 'polygon', 'keypoints'], guide='any human, even partly visible')\n"
        "proj.schema.add_attribute('occluded', kind='bool', labels=['person'])\n"
        "proj.schema.add_attribute('pose', kind='select', options=['standing', 'sitting', 'lying'], labels=['person'])\n"
        "proj.schema"),
    nbf.v4.new_markdown_cell("## Import ground truth (COCO)\nEvery import returns a report: what went in, what was "
                             "skipped and why."),
    nbf.v4.new_code_cell(
        "report = proj.import_coco('sample/instances.json', images='sample/images')\n"
        "print(report.summary())\n"
        "proj.schema.labels()[['label_id', 'name', 'spatial']].head()"),
    nbf.v4.new_markdown_cell("## A look at the data\nSlices are lazy DuckDB queries; `.df()` runs them."),
    nbf.v4.new_code_cell(
        "proj.media().labels(['person']).sort_by('n_instances', descending=True).df()[['media_id', 'file_name', 'width', 'height', 'n_instances']]"),
    nbf.v4.new_code_cell(
        "inst = proj.instances().df()\n"
        "inst.groupby('label').size().sort_values(ascending=False).head(10)"),
    nbf.v4.new_code_cell(
        "from nblabel.widgets import render_static\n"
        "first = proj.media().sort_by('n_instances', descending=True).head(1).ids()[0]\n"
        "render_static(proj, first)"),
    nbf.v4.new_markdown_cell("## Label inline\nDraw with the mouse (a plain drag draws a box), pick labels with 1–9, "
                             "`?` lists every shortcut. Each change is saved to the project file as you go."),
    nbf.v4.new_code_cell(
        "img = proj.add_images('sample/images').ids[0]  # already in the project: exact duplicates are skipped\n"
        "w = proj.annotate(queue=proj.media().head(3))\n"
        "w"),
    nbf.v4.new_markdown_cell("## Edit, history, status"),
    nbf.v4.new_code_cell(
        "iid = proj.add_instance(first, 'person', box=[10, 10, 60, 120], attributes={'occluded': False, 'pose': 'standing'})\n"
        "proj.update_instance(iid, attributes={'occluded': True, 'pose': 'sitting'})\n"
        "proj.history(iid)[['version', 'label', 'attributes', 'author', 'deleted']]"),
    nbf.v4.new_code_cell("proj.status_summary()"),
    nbf.v4.new_markdown_cell("## Export\nExports contain completed media only (unless asked otherwise); a snapshot "
                             "freezes an export under a name and always returns the same bytes."),
    nbf.v4.new_code_cell(
        "out = proj.export_coco(work / 'export.json')\n"
        "snap = proj.snapshot('v1', format='coco')\n"
        "proj.snapshots()[['name', 'format', 'sha256', 'n_media', 'n_instances']]"),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
nbf.write(nb, "notebooks/01_quickstart.ipynb")
print("wrote notebooks/01_quickstart.ipynb")
