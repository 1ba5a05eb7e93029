/* 一张图: Foshan's districts from the GeoJSON kept in the repo (no tiles, offline), every site
 * the reader may see as a point coloured by its state; a click opens the project page. */
(function () {
  "use strict";
  var JG = window.JG, esc = JG.esc;
  var geoUrl = document.currentScript.getAttribute("data-geo");
  var el = document.getElementById("site-map");
  var chart = window.echarts.init(el);
  var filters = document.getElementById("map-filters");
  var sites = [];
  var geoJson = null;

  // the chosen district fills the map (its bounding box) and is shaded
  function bounds(name) {
    var feature = geoJson && geoJson.features.filter(function (f) { return f.properties.name === name; })[0];
    if (!feature) return null;
    var g = feature.geometry, rings = g.type === "Polygon" ? g.coordinates : [].concat.apply([], g.coordinates);
    var xs = [], ys = [];
    rings.forEach(function (r) { r.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
    return [[Math.min.apply(null, xs), Math.max.apply(null, ys)], [Math.max.apply(null, xs), Math.min.apply(null, ys)]];
  }

  function legend(data) {
    document.getElementById("legend").innerHTML = data.themes.concat([data.normal]).map(function (t) {
      return '<span><i style="background:' + esc(t.color) + '"></i>' + esc(t.label) + "</span>";
    }).join("");
  }

  function render(data) {
    sites = data.sites;
    legend(data);
    var located = sites.filter(function (s) { return s.lng !== null && s.lat !== null; });
    document.getElementById("map-count").textContent = "共 " + sites.length + " 个工地" +
      (data.unlocated ? ", 其中 " + data.unlocated + " 个未定位" : "");
    var district = filters.district.value;
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        if (!p.data || !p.data.site) return esc(p.name);
        var s = p.data.site, f = s.facts;
        return esc(s.name) + "<br>" + esc(s.code) + " · " + esc(s.district) + "<br>状态: " +
          esc(s.state_name) + "<br>告警 " + f.alarms + " · 逾期整改 " + f.overdue +
          " · 危大在办 " + f.dangerous + " · 塔吊在用 " + f.cranes;
      } },
      geo: { map: "foshan", roam: true, label: { show: true, color: "#555" },
             boundingCoords: district ? bounds(district) : null,
             regions: district ? [{ name: district, itemStyle: { areaColor: "#d6e4f5" } }] : [],
             itemStyle: { areaColor: "#eef3f8", borderColor: "#7a8ea6" },
             emphasis: { itemStyle: { areaColor: "#dbe7f3" } } },
      series: [{ type: "scatter", coordinateSystem: "geo", symbolSize: 14,
                 data: located.map(function (s) {
                   return { name: s.name, value: [s.lng, s.lat], site: s,
                            itemStyle: { color: s.color, borderColor: "#fff", borderWidth: 1 } };
                 }) }]
    }, true);
    var list = document.getElementById("site-list");
    if (!sites.length) { list.innerHTML = '<p class="muted card-body">没有符合条件的工地</p>'; return; }
    list.innerHTML = "<ul>" + sites.map(function (s) {
      return '<li data-code="' + esc(s.code) + '"><i class="dot" style="background:' +
        esc(s.color) + '"></i><a href="/projects/' + encodeURIComponent(s.code) + '">' +
        esc(s.name) + '</a> <small class="muted">' + esc(s.state_name) +
        (s.lng === null ? " · 未定位" : "") + "</small></li>";
    }).join("") + "</ul>";
  }

  function load() {
    var query = { district: filters.district.value, theme: filters.theme.value };
    return JG.api("projects/map", { query: query }).then(render).catch(function (err) {
      JG.refuse(document.getElementById("site-list"), err);
    });
  }

  chart.on("click", function (p) {
    if (p.data && p.data.site) location.href = "/projects/" + encodeURIComponent(p.data.site.code);
  });
  filters.addEventListener("change", load);
  filters.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  window.addEventListener("resize", function () { chart.resize(); });
  fetch(geoUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); })
    .then(function (geo) { geoJson = geo; window.echarts.registerMap("foshan", geo); return load(); })
    .then(function () { el.setAttribute("data-ready", "1"); });
  window.JGMap = { chart: chart, sites: function () { return sites; } };
})();
