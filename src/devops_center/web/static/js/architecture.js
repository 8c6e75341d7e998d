/* /admin/architecture: the module graph, drawn with Cytoscape.js (vendored) from the JSON
   of /api/v1/architecture. Packages are boxes with their modules inside, arrows are
   imports (dashed: only for type checking), node size follows lines of code, colour
   follows centrality, import cycles are outlined. Above data-collapse-over modules the
   graph opens collapsed to packages: tap a package to open it, double-tap its box to
   close it again. */
(function () {
  "use strict";

  var box = document.getElementById("arch-graph");
  if (!box) return;
  var statusLine = document.getElementById("arch-status");
  var info = document.getElementById("arch-info");
  var search = document.getElementById("arch-search");
  var names = document.getElementById("arch-module-names");
  var fitButton = document.getElementById("arch-fit");
  var toggle = document.getElementById("arch-toggle");

  // How nodes are coloured: each mode reads a figure in [0, 1] of a module or package
  // (recent_change: lines the changelog's pull requests changed in the last 30 days).
  var COLOUR_MODES = {
    centrality: function (item) { return item.centrality; },
    recent_change: function (item) { return item.recent_change || 0; }
  };
  var colourPicker = document.getElementById("arch-colour");
  // Pale yellow → orange → dark red, on the square root of the figure: PageRank is
  // skewed (a few hubs, many leaves) and a linear scale would paint nearly all pale.
  var RAMP = [[255, 237, 160], [254, 178, 76], [240, 59, 32], [189, 0, 38]];
  var CYCLE = "#8e24aa";
  var EDGE = "#90a4ae";
  var MARK = "#0277bd";

  function label(key) { return box.dataset["label" + key] || ""; }
  function say(text) { statusLine.textContent = text; }

  if (typeof window.cytoscape === "undefined") {
    say(label("Failed"));
    return;
  }

  fetch(box.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(draw)
    .catch(function () { say(label("Failed")); });

  function mix(value) {
    var t = Math.sqrt(Math.max(0, Math.min(1, Number(value) || 0))) * (RAMP.length - 1);
    var i = Math.min(RAMP.length - 2, Math.floor(t));
    var f = t - i;
    var rgb = RAMP[i].map(function (low, k) { return Math.round(low + (RAMP[i + 1][k] - low) * f); });
    return "rgb(" + rgb.join(",") + ")";
  }

  function lastPart(name) { return name.slice(name.lastIndexOf(".") + 1); }

  function draw(data) {
    var modules = {};
    var packages = {};
    var maxLoc = 1;
    var maxPackageLoc = 1;
    data.modules.forEach(function (m) {
      modules[m.name] = m;
      maxLoc = Math.max(maxLoc, m.loc);
    });
    data.packages.forEach(function (p) {
      packages[p.name] = p;
      maxPackageLoc = Math.max(maxPackageLoc, p.loc);
    });
    var cycleOf = {};
    (data.scan.cycle_members || []).forEach(function (members, i) {
      members.forEach(function (name) { cycleOf[name] = i; });
    });
    var tops = {};
    Object.keys(modules).forEach(function (name) { tops[name.split(".")[0]] = true; });
    var root = Object.keys(tops).length === 1 ? Object.keys(tops)[0] : null;
    var single = root ? root + "." : "";
    var linked = {};
    data.edges.forEach(function (e) { linked[e.source] = linked[e.target] = true; });
    function shortPackage(name) {
      return single && name.indexOf(single) === 0 ? name.slice(single.length) : name;
    }
    var mode = (box.dataset.colourModes || "centrality").split(" ")[0];
    var colour = COLOUR_MODES[mode] || COLOUR_MODES.centrality;
    var collapsible = data.modules.length > Number(box.dataset.collapseOver || 150);
    var allOpen = !collapsible;
    var open = {};

    var text = window.getComputedStyle(document.body).color;
    var background = window.getComputedStyle(box).backgroundColor;

    function visible(m) {
      return allOpen || !m.package || m.package === root || !packages[m.package] || open[m.package];
    }
    function nodeId(moduleName) {
      var m = modules[moduleName];
      return visible(m) ? "m:" + m.name : "p:" + m.package;
    }
    function size(loc, max) { return Math.round(14 + 42 * Math.sqrt(loc / max)); }

    function shown(m) { return visible(m) && !(m.is_package && !linked[m.name]); }  // no empty __init__

    function elements() {
      var out = [];
      var filled = {};  // packages with something to draw inside (their boxes, else none)
      data.modules.forEach(function (m) {
        if (!shown(m)) return;
        filled[m.package] = true;
      });
      Object.keys(packages).forEach(function (name) {
        var p = packages[name];
        if (name === root) return;  // the one top package: its box would frame everything
        if ((allOpen || open[name]) && !filled[name]) return;
        if (allOpen || open[name]) {
          // Boxes side by side, not nested: sub-packages are boxes of their own (the
          // layout keeps flat boxes apart far better than nested ones).
          out.push({
            data: { id: "p:" + name, kind: "box", name: name, label: shortPackage(name) },
            classes: "box"
          });
        } else {
          out.push({
            data: {
              id: "p:" + name,
              kind: "package",
              name: name,
              label: shortPackage(name) + " (" + p.modules + ")",
              size: size(p.loc, maxPackageLoc),
              colour: mix(colour(p))
            },
            classes: "package" + (p.in_cycle ? " cycle" : "")
          });
        }
      });
      data.modules.forEach(function (m) {
        if (!shown(m)) return;
        var inside = m.package && packages[m.package] && m.package !== root;
        out.push({
          data: {
            id: "m:" + m.name,
            kind: "module",
            name: m.name,
            label: m.is_package ? lastPart(m.name) + "/__init__" : lastPart(m.name),
            parent: inside ? "p:" + m.package : undefined,
            size: size(m.loc, maxLoc),
            colour: mix(colour(m))
          },
          classes: "module" + (m.in_cycle ? " cycle" : "")
        });
      });
      var edges = {};
      data.edges.forEach(function (e) {
        var source = nodeId(e.source);
        var target = nodeId(e.target);
        if (source === target) return;
        var key = source + ">" + target;
        var edge = edges[key];
        if (!edge) {
          edge = edges[key] = { id: "e:" + key, source: source, target: target, n: 0, tc: true, cycle: false };
        }
        edge.n += 1;
        if (!e.type_checking) edge.tc = false;
        if (!e.type_checking && cycleOf[e.source] !== undefined && cycleOf[e.source] === cycleOf[e.target]) {
          edge.cycle = true;
        }
      });
      Object.keys(edges).forEach(function (key) {
        var edge = edges[key];
        out.push({
          data: { id: edge.id, source: edge.source, target: edge.target, n: edge.n },
          classes: (edge.tc ? "tc" : "") + (edge.cycle ? " cycle" : "")
        });
      });
      return out;
    }

    var cy = window.cytoscape({
      container: box,
      elements: [],
      minZoom: 0.05,
      maxZoom: 4,
      boxSelectionEnabled: false,
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "font-size": 10,
            color: text,
            "text-outline-width": 2,
            "text-outline-color": background,
            "min-zoomed-font-size": 6
          }
        },
        {
          selector: "node.module, node.package",
          style: {
            width: "data(size)",
            height: "data(size)",
            "background-color": "data(colour)",
            "border-width": 1,
            "border-color": "#607d8b",
            "text-valign": "bottom",
            "text-margin-y": 2
          }
        },
        { selector: "node.package", style: { shape: "round-rectangle", "font-size": 14, "min-zoomed-font-size": 4 } },
        {
          selector: "node.box",
          style: {
            shape: "round-rectangle",
            "background-color": "#78909c",
            "background-opacity": 0.07,
            "border-width": 1,
            "border-style": "dashed",
            "border-color": "#78909c",
            "text-valign": "top",
            "text-halign": "center",
            "font-weight": "bold",
            "font-size": 16,
            "min-zoomed-font-size": 4,
            padding: 10
          }
        },
        { selector: "node.cycle", style: { "border-width": 3, "border-color": CYCLE, "border-style": "solid" } },
        {
          selector: "edge",
          style: {
            width: "mapData(n, 1, 20, 1, 4)",
            "line-color": EDGE,
            "target-arrow-color": EDGE,
            "target-arrow-shape": "triangle",
            "arrow-scale": 0.8,
            "curve-style": "bezier",
            opacity: 0.5
          }
        },
        { selector: "edge.tc", style: { "line-style": "dashed" } },
        { selector: "edge.cycle", style: { "line-color": CYCLE, "target-arrow-color": CYCLE, opacity: 0.85, width: 2 } },
        { selector: ".faded", style: { opacity: 0.12 } },
        { selector: "node.mark", style: { "border-width": 4, "border-color": MARK, "z-index": 20 } },
        { selector: "edge.mark", style: { opacity: 1, "line-color": MARK, "target-arrow-color": MARK, "z-index": 20 } }
      ]
    });

    function layout(then) {
      // Imports inside a package are short stiff springs, imports between packages long
      // slack ones: each package's box stays compact and the boxes stay apart.
      function samePackage(edge) {
        var box = edge.source().parent();
        return box.nonempty() && box.same(edge.target().parent());
      }
      var run = cy.layout({
        name: "fcose",
        quality: "proof",
        animate: false,
        randomize: true,
        idealEdgeLength: function (edge) { return samePackage(edge) ? 30 : 200; },
        edgeElasticity: function (edge) { return samePackage(edge) ? 0.6 : 0.01; },
        nodeRepulsion: function () { return 15000; },
        gravity: 0.05,
        gravityCompound: 2,
        numIter: 3000,
        padding: 16
      });
      run.one("layoutstop", function () {
        cy.fit(undefined, 16);
        say("");
        if (then) then();
      });
      run.run();
    }

    function rebuild(then) {
      say(label("Loading"));
      cy.elements().remove();
      cy.add(elements());
      if (toggle) {
        toggle.hidden = !collapsible;
        toggle.textContent = allOpen ? toggle.dataset.collapse : toggle.dataset.expand;
      }
      window.setTimeout(function () { layout(then); }, 0);
    }

    function unmark() {
      cy.elements().removeClass("faded mark");
    }

    function mark(node) {
      unmark();
      cy.elements().not(".box").addClass("faded");
      var around = node.closedNeighborhood();
      around.removeClass("faded");
      node.addClass("mark");
      node.connectedEdges().addClass("mark");
    }

    function describe(item, isPackage) {
      info.textContent = "";
      var title = document.createElement("strong");
      title.textContent = item.name;
      info.appendChild(title);
      var parts = [item.loc + " " + label("Lines")];
      if (isPackage) parts.unshift(item.modules + " " + label("Modules"));
      parts.push(label("FanIn") + " " + item.fan_in, label("FanOut") + " " + item.fan_out);
      parts.push(label("Centrality") + " " + Number(item.centrality).toFixed(2));
      if (item.in_cycle) parts.push(label("Cycle"));
      info.appendChild(document.createTextNode(parts.join(" · ") + " "));
      if (!isPackage) {
        var link = document.createElement("a");
        link.href = box.dataset.moduleUrl + encodeURIComponent(item.name);
        link.textContent = label("Open");
        info.appendChild(link);
      }
    }

    function focus(name) {
      var node = cy.getElementById("m:" + name);
      if (!node.length) return;
      mark(node);
      describe(modules[name], false);
      cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 1.3) }, { duration: 300 });
    }

    cy.on("tap", "node", function (event) {
      var node = event.target;
      var kind = node.data("kind");
      var name = node.data("name");
      if (kind === "package") {
        open[name] = true;
        rebuild();
      } else if (kind === "module") {
        mark(node);
        describe(modules[name], false);
      } else if (kind === "box") {
        describe(packages[name], true);
      }
    });
    cy.on("dbltap", "node.box", function (event) {
      var name = event.target.data("name");
      if (collapsible && !allOpen && open[name]) {
        delete open[name];
        rebuild();
      }
    });
    cy.on("tap", function (event) {
      if (event.target === cy) {
        unmark();
        info.textContent = collapsible && !allOpen ? label("Collapsed") : "";
      }
    });

    function find(query) {
      var q = query.trim().toLowerCase();
      if (!q) return null;
      if (modules[query.trim()]) return query.trim();
      var all = Object.keys(modules).sort();
      var exactPart = all.filter(function (n) { return lastPart(n).toLowerCase() === q; });
      if (exactPart.length) return exactPart[0];
      var containing = all.filter(function (n) { return n.toLowerCase().indexOf(q) >= 0; });
      return containing.length ? containing[0] : null;
    }

    var handled = null;  // Enter, then leaving the box, fire twice for one query
    function go() {
      if (search.value === handled) return;
      handled = search.value;
      var name = find(search.value);
      if (!name) {
        info.textContent = label("NotFound");
        return;
      }
      var m = modules[name];
      if (!visible(m)) {
        open[m.package] = true;
        rebuild(function () { focus(name); });
      } else {
        focus(name);
      }
    }

    if (search) {
      search.addEventListener("change", go);
      search.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          go();
        }
      });
    }
    if (names) {
      Object.keys(modules).sort().forEach(function (name) {
        var option = document.createElement("option");
        option.value = name;
        names.appendChild(option);
      });
    }
    if (fitButton) fitButton.addEventListener("click", function () { cy.fit(undefined, 16); });
    if (colourPicker) {
      colourPicker.value = mode;
      colourPicker.addEventListener("change", function () {
        colour = COLOUR_MODES[colourPicker.value] || COLOUR_MODES.centrality;
        // only the colours change: restyle in place, keep the layout and the zoom
        cy.nodes().forEach(function (node) {
          var item = node.data("kind") === "module" ? modules[node.data("name")]
            : node.data("kind") === "package" ? packages[node.data("name")] : null;
          if (item) node.data("colour", mix(colour(item)));
        });
      });
    }
    if (toggle) {
      toggle.addEventListener("click", function () {
        allOpen = !allOpen;
        open = {};
        rebuild();
      });
    }

    rebuild(function () {
      if (collapsible && !allOpen) info.textContent = label("Collapsed");
    });
    window.dccArchitecture = { cy: cy, focus: focus };
  }
})();
