// The results as CSV (RFC 4180, UTF-8) under the CLI's rules, which the detector hands over with its info
// (runtime/csvrows.py: the columns, and the characters that make a spreadsheet read a cell as a formula).
// The table's "name" is the CLI's "path"; a column a row lacks is written empty.
const quote = (value) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

// As csvrows.cell_text: nothing for a missing value, flags joined by ";", a list of faces by its count.
function cellText(column, value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return column === "faces" ? String(value.length) : value.join(";");
  return String(value);
}

export function toCSV(results, { columns, formula_start: formulaStart }) {
  const defuse = (text) => (text && formulaStart.includes(text[0]) ? `'${text}` : text);
  const lines = [columns];
  for (const r of results) {
    const row = { path: r.name, ...r };
    lines.push(columns.map((column) => defuse(cellText(column, row[column]))));
  }
  return lines.map((cells) => cells.map(quote).join(",")).join("\r\n") + "\r\n";
}

export function download(text, fileName, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000); // after the browser has started the download
}
