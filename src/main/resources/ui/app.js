// The page at /ui/: sends the chosen picture to the CloudEvent endpoint (POST /, binary mode) as any client does,
// and shows the reply. No framework, nothing from the network but this pod (see the Content-Security-Policy).
'use strict';

const $ = (id) => document.getElementById(id);
let model = null;
let file = null;
const urls = [];

document.addEventListener('DOMContentLoaded', () => {
  loadModel();
  $('picture').addEventListener('change', () => choose($('picture').files[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });
  $('form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('classmap').addEventListener('mousemove', (e) => nameAt(e));
  $('classmap').addEventListener('click', (e) => nameAt(e));
  $('show-boxes').addEventListener('change', drawBoxes);
});

async function loadModel() {
  try {
    const response = await fetch('model.json');
    const body = await response.json();
    if (!response.ok) {
      $('model').textContent = 'No model yet: ' + body.message + retryText(response);
      setTimeout(loadModel, 2000);
      return;
    }
    model = body;
    $('model').textContent = `Model ${model.name} (${model.family}, ${model.classes.length} classes) on `
      + model.executionProvider;
    $('demo-warning').hidden = !model.demo;
    const select = $('select');
    select.replaceChildren();
    for (const [label, names] of [['groups', model.groups], ['classes', model.classes.map((c) => c.name)]]) {
      const group = document.createElement('optgroup');
      group.label = label;
      for (const name of names) group.append(new Option(name, name, false, name === model.defaultSelection));
      select.append(group);
    }
  } catch (e) {
    $('model').textContent = 'Cannot reach the pod: ' + e.message;
  }
}

function choose(chosen) {
  file = chosen || null;
  $('chosen').textContent = file ? `${file.name} (${Math.round(file.size / 1024)} KB)` : '';
}

function retryText(response) {
  const after = response.headers.get('Retry-After');
  return after ? ` Busy: retry in ${after} s.` : '';
}

async function send() {
  if (!file) {
    showError('Choose a picture first.');
    return;
  }
  const outputs = [...document.querySelectorAll('input[name=output]:checked')].map((i) => i.value);
  const headers = {
    'ce-specversion': '1.0',
    'ce-id': crypto.randomUUID ? crypto.randomUUID() : String(Date.now()),
    'ce-source': '/ui',
    'ce-type': model ? model.requestType : 'sapiens.segment',
    'ce-sapiensoutputs': outputs.join(','),
    'Content-Type': file.type || 'application/octet-stream',
  };
  if (outputs.some((o) => ['cutout', 'selection-mask', 'alpha'].includes(o))) {
    headers['ce-sapiensselect'] = $('select').value;
    headers['ce-sapiensinvert'] = String($('invert').checked);
    headers['ce-sapiensedges'] = $('edges').value;
  }
  $('send').disabled = true;
  $('error').hidden = true;
  try {
    const response = await fetch('/', { method: 'POST', headers, body: file });
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch (e) { /* not JSON: shown as text */ }
    if (!response.ok) {
      const data = body && body.data ? body.data : body;
      showError(`${response.status} ${data && data.error ? data.error : response.statusText}: `
        + (data && data.message ? data.message : text.slice(0, 300)) + retryText(response));
      return;
    }
    show(body, text);
  } catch (e) {
    showError('The request failed: ' + e.message);
  } finally {
    $('send').disabled = false;
  }
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}

let reply = null;

function show(body, text) {
  reply = body;
  urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
  const stem = (file.name.replace(/\.[^.]*$/, '') || 'picture');
  $('summary').textContent = `${reply.width} × ${reply.height} ${reply.format}, person ${
    (reply.foregroundShare * 100).toFixed(1)} % of the picture, ${reply.classes.length} classes`
    + (reply.selection ? `; selection ${reply.selection.expression} (${reply.selection.edges} edges): ${
      (reply.selection.share * 100).toFixed(1)} %` : '');
  picture('overlay', reply.overlay, `${stem}_overlay`);
  picture('cutout', reply.cutout, `${stem}_cutout`);
  picture('mask', reply.selectionMask, `${stem}_selection`);
  picture('alpha', reply.alpha, `${stem}_alpha`);
  picture('instances', reply.instances, `${stem}_instances`);
  link($('classmap-download'), reply.classPng, `${stem}_seg`);
  drawClassMap(reply.classPng);
  legend();
  persons();
  $('timings').textContent = Object.entries(reply.timings).map(([k, v]) => `${k} ${v}`).join(', ');
  const json = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  urls.push(json);
  $('json-download').href = json;
  $('json-download').download = `${stem}.json`;
  $('result').hidden = false;
  $('result-title').focus();
}

function bytes(b64) {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function link(anchor, pic, name) {
  if (!pic) return null;
  const url = URL.createObjectURL(new Blob([bytes(pic.data)], { type: pic.contentType }));
  urls.push(url);
  anchor.href = url;
  anchor.download = name + (pic.contentType === 'image/jpeg' ? '.jpg' : '.png');
  return url;
}

function picture(id, pic, name) {
  const figure = $(id + '-figure');
  if (figure) figure.hidden = !pic;
  if (!pic) return;
  $(id).src = link($(id + '-download'), pic, name);
}

function drawClassMap(pic) {
  const image = new Image();
  image.onload = () => {
    for (const canvas of [$('classmap'), $('boxes')]) {
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
    }
    $('classmap').getContext('2d').drawImage(image, 0, 0);
    drawBoxes();
  };
  image.src = 'data:image/png;base64,' + pic.data;
}

function classAt(x, y) {
  const [r, g, b] = $('classmap').getContext('2d').getImageData(x, y, 1, 1).data;
  return model.classes.find((c) => c.rgb[0] === r && c.rgb[1] === g && c.rgb[2] === b);
}

function nameAt(e) {
  const canvas = $('classmap');
  const box = canvas.getBoundingClientRect();
  const x = Math.floor((e.clientX - box.left) * canvas.width / box.width);
  const y = Math.floor((e.clientY - box.top) * canvas.height / box.height);
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
  const found = classAt(x, y);
  $('pixel-class').textContent = found ? found.name : 'unknown';
  $('pixel-class').dataset.x = x;
  $('pixel-class').dataset.y = y;
}

function drawBoxes() {
  const canvas = $('boxes');
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!$('show-boxes').checked || !reply) return;
  context.lineWidth = Math.max(2, canvas.width / 300);
  for (const c of reply.classes) {
    if (c.id === 0) continue;
    const colour = model.classes[c.id].rgb;
    context.strokeStyle = `rgb(${colour[0]}, ${colour[1]}, ${colour[2]})`;
    context.strokeRect(c.bbox.x, c.bbox.y, c.bbox.width, c.bbox.height);
  }
}

function legend() {
  const body = $('legend').tBodies[0];
  body.replaceChildren();
  for (const c of [...reply.classes].sort((a, b) => b.share - a.share)) {
    const row = body.insertRow();
    row.dataset.id = c.id;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    const rgb = model.classes[c.id].rgb;
    swatch.style.backgroundColor = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
    row.insertCell().append(swatch);
    row.insertCell().textContent = c.name;
    row.insertCell().textContent = (c.share * 100).toFixed(2) + ' %';
    row.insertCell().textContent = c.pixels.toLocaleString('en');
  }
}

function persons() {
  const box = $('persons');
  box.replaceChildren();
  if (!reply.persons) return;
  const title = document.createElement('h3');
  title.textContent = `Persons: ${reply.persons.length}`;
  const list = document.createElement('ol');
  for (const p of reply.persons) {
    const item = document.createElement('li');
    item.textContent = `${p.pixels.toLocaleString('en')} pixels, box ${p.bbox.x},${p.bbox.y} ${p.bbox.width}×${
      p.bbox.height}, ${p.classes.length} classes`;
    list.append(item);
  }
  box.append(title, list);
}
