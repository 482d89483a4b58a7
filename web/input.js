// Every way in for files: the picker, drag and drop (files or whole folders), and paste.

// Directory entries hand out their children in chunks; keep reading until an empty chunk.
function readAll(reader) {
  return new Promise((resolve, reject) => {
    const all = [];
    const next = () => reader.readEntries((chunk) => {
      if (chunk.length === 0) resolve(all);
      else { all.push(...chunk); next(); }
    }, reject);
    next();
  });
}

// A FileSystemEntry tree -> flat list of Files; folder files are named by their path inside the drop.
export async function filesFromEntry(entry) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    const path = (entry.fullPath || entry.name).replace(/^\//, "");
    return [path === file.name ? file : new File([file], path, { type: file.type, lastModified: file.lastModified })];
  }
  if (entry.isDirectory) {
    const children = await readAll(entry.createReader());
    children.sort((a, b) => a.name.localeCompare(b.name));
    const nested = [];
    for (const child of children) nested.push(...(await filesFromEntry(child)));
    return nested;
  }
  return [];
}

// The DataTransfer is emptied when the event handler returns, so the entries are taken synchronously.
export async function filesFromDrop(dataTransfer) {
  const items = Array.from(dataTransfer.items || []).filter((it) => it.kind === "file");
  const entries = items.map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null));
  if (entries.length === 0 || entries.some((e) => e === null)) return Array.from(dataTransfer.files);
  const files = [];
  for (const entry of entries) files.push(...(await filesFromEntry(entry)));
  return files;
}

export function wireInputs({ input, dropZone, onFiles }) {
  input.addEventListener("change", () => {
    onFiles(Array.from(input.files));
    input.value = "";
  });
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("over");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
    filesFromDrop(event.dataTransfer).then(onFiles);
  });
  // Files dropped anywhere else on the page are taken too: left to the browser, it would open the file
  // in place of the page and every result would be lost.
  const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  document.addEventListener("dragover", (event) => { if (carriesFiles(event)) event.preventDefault(); });
  document.addEventListener("drop", (event) => {
    if (event.defaultPrevented || !carriesFiles(event)) return; // the drop zone took it
    event.preventDefault();
    filesFromDrop(event.dataTransfer).then(onFiles);
  });
  // Paste anywhere except into a text field: screenshots and copied images arrive as files.
  document.addEventListener("paste", (event) => {
    if (event.target.closest && event.target.closest("input[type=text], input[type=search], textarea")) return;
    const files = Array.from(event.clipboardData?.files || []);
    if (files.length) {
      event.preventDefault();
      onFiles(files);
    }
  });
}
