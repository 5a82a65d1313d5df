// The report pages' one inline style sheet and one inline script. The style gives the charts
// their colours (reference grey, current red, as Evidently draws them) and reflows the drift
// table into stacked rows on a phone; the script only sorts a drift table by a header.

export const PAGE_STYLE = `
:root{--ref:#8a8a8a;--cur:#d62728;--ok:#2e7d32;--muted:#5f6368;--line:#e0e0e0;color:#202124;background:#fff;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1120px;padding:14px;line-height:1.4;font-size:15px}
h1{font-size:1.45em;margin:.2em 0;overflow-wrap:anywhere}
h2{font-size:1.2em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
a{color:#1a57b5}
.meta{color:var(--muted);margin:.2em 0;overflow-wrap:anywhere}
.verdict{padding:.55em .8em;border-radius:6px;font-weight:600;margin:.6em 0}
.verdict.bad{background:#fdecea;color:#a31515}
.verdict.good{background:#e8f5e9;color:#1b5e20}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5em,1fr));gap:8px;margin:.6em 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.45em .7em;color:var(--muted)}
.card b{display:block;font-size:1.45em;color:#202124}
.legend{color:var(--muted);font-size:.9em}
.key{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 .6em;vertical-align:-.1em;border-radius:2px}
.key.ref{background:var(--ref)}.key.cur{background:var(--cur)}
.key.retrain{background:#1565c0;width:.3em}
.grid{display:grid;grid-template-columns:minmax(0,2.3fr) 2.6em minmax(0,1fr) minmax(0,1fr) 7em minmax(0,1.5fr) 5.6em;
gap:4px 10px;align-items:center;padding:6px 4px}
.head{font-weight:600;border-bottom:2px solid var(--line);font-size:.9em}
.head button{font:inherit;background:none;border:0;padding:0;color:inherit;cursor:pointer;text-align:left}
.head button[data-dir=asc]::after{content:" ▲"}.head button[data-dir=desc]::after{content:" ▼"}
.col{border-bottom:1px solid var(--line)}
details.col>summary{list-style:none;cursor:pointer}
details.col>summary::-webkit-details-marker{display:none}
details.col>summary:hover{background:#f6f8fa}
.name{overflow-wrap:anywhere;font-weight:600}
details.col .name::before{content:"▸ ";color:var(--muted)}
details.col[open] .name::before{content:"▾ "}
.note{display:block;font-weight:400;color:var(--muted);font-size:.85em}
.yes{color:var(--cur);font-weight:600}.no{color:var(--ok)}.off{color:var(--muted)}
.num{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}
.detail{padding:2px 6px 14px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,400px),1fr));gap:12px}
figure{margin:0}
figcaption{font-size:.85em;color:var(--muted)}
svg.spark{width:100%;height:22px;display:block}
svg.spark.ref path{fill:var(--ref)}svg.spark.cur path{fill:var(--cur)}
svg .none{stroke:#bbb;fill:none}
svg.chart{width:100%;height:auto;display:block}
svg.timeline{max-width:760px}
svg text{font-size:12px;fill:#444}svg .mid{text-anchor:middle}svg .end{text-anchor:end}
svg .axis{fill:none;stroke:#9aa0a6}
svg.dist .ref{fill:var(--ref);fill-opacity:.6}svg.dist .cur{fill:var(--cur);fill-opacity:.55}
svg .band.ref{fill:var(--ref);fill-opacity:.22}svg .band.cur{fill:var(--cur);fill-opacity:.2}
svg .mean{fill:none;stroke-width:2px;vector-effect:non-scaling-stroke}svg .mean.ref{stroke:var(--ref);stroke-dasharray:6 4}svg .mean.cur{stroke:var(--cur)}
svg .line{fill:none;stroke:#5f6368;stroke-width:1.5}
svg .threshold{fill:none;stroke:var(--cur);stroke-dasharray:4 4}
svg .retrain{fill:none;stroke:#1565c0;stroke-width:2;stroke-dasharray:3 3}
svg circle.cur{fill:var(--cur)}svg circle.ok{fill:#5f6368}
svg.timeline path.cur{fill:var(--cur);fill-opacity:.7}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{padding:4px 6px;border-bottom:1px solid var(--line);text-align:left}
td.label,td.wide{overflow-wrap:anywhere}
thead th{border-bottom:2px solid var(--line)}
td.num,th.num{text-align:right}
.delta{color:var(--muted);font-size:.85em;margin-left:.3em}
.worse{color:var(--cur)}
ul.reasons{margin:.3em 0;padding-left:1.3em;overflow-wrap:anywhere}
footer{margin:2em 0 .5em;color:var(--muted);font-size:.85em}
@media (max-width:640px){
body{padding:8px;font-size:14px}
.grid{grid-template-columns:repeat(3,minmax(0,1fr));gap:2px 8px}
.grid>.name{grid-column:1/-1}
.head{display:flex;flex-wrap:wrap;gap:4px 12px}
.rows .grid>span+span::before{display:block;font-size:.75em;color:var(--muted)}
.rows .grid>:nth-child(2)::before{content:"type"}.rows .grid>:nth-child(3)::before{content:"reference"}
.rows .grid>:nth-child(4)::before{content:"current"}.rows .grid>:nth-child(5)::before{content:"drift"}
.rows .grid>:nth-child(6)::before{content:"test"}.rows .grid>:nth-child(7)::before{content:"score"}
.grid>.num{text-align:left}
.wide{display:none}
.head>span{display:none}
svg.chart text{font-size:16px}svg.timeline text{font-size:17px}
th,td{padding:4px 3px}
}
`;

export const PAGE_SCRIPT = `
for (const button of document.querySelectorAll("button[data-sort]")) {
  button.addEventListener("click", () => {
    const rows = button.closest("section").querySelector(".rows");
    const key = button.dataset.sort;
    const ascending = button.dataset.dir !== "asc";
    for (const other of button.parentElement.querySelectorAll("button[data-sort]")) delete other.dataset.dir;
    button.dataset.dir = ascending ? "asc" : "desc";
    const value = (row) => row.dataset[key] ?? "";
    const sorted = [...rows.children].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === "" || y === "") return (x === "") - (y === "");
      const order = isNaN(x) || isNaN(y) ? x.localeCompare(y) : x - y;
      return ascending ? order : -order;
    });
    rows.append(...sorted);
  });
}
`;
