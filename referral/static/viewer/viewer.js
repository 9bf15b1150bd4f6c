/* The study viewer: series thumbnails, slices and frames fetched one at a time as rendered
 * JPEGs (sized to the screen), window/level by drag (previewed at once on the image already
 * shown, then rendered exactly by the server) and presets, zoom and pan, a length measurement
 * in millimetres from Pixel Spacing, and the key tags. Mouse, keyboard and touch.
 *
 * Nothing is downloaded ahead except the neighbours of the image on screen, so the first image
 * of a study appears after a few tens of kilobytes even on a village link.
 */
(function () {
  "use strict";

  var root = document.getElementById("dicom-viewer");
  if (!root) return;

  var t = JSON.parse(root.getAttribute("data-i18n") || "{}");
  var viewport = root.querySelector(".dv-viewport");
  var canvas = root.querySelector(".dv-canvas");
  var ctx = canvas.getContext("2d");
  var slider = root.querySelector(".dv-slider");
  var counter = root.querySelector(".dv-counter");
  var message = root.querySelector(".dv-message");
  var overlays = {
    tl: root.querySelector(".dv-tl"), tr: root.querySelector(".dv-tr"),
    bl: root.querySelector(".dv-bl"), br: root.querySelector(".dv-br")
  };
  var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  var state = {
    manifest: null, series: -1, slices: [], index: 0,
    window: null, preset: "", zoom: 1, panX: 0, panY: 0,
    tool: coarse ? "scroll" : "window",
    shown: null,      // {slice, bitmap, window, url}
    preview: null,    // {center, width} while dragging window/level
    measures: {},     // slice key -> [{x1, y1, x2, y2}]
    drawing: null
  };

  var cache = new Map();
  var inflight = new Map();
  var CACHE_LIMIT = 160;
  var drawSerial = 0;   // the latest image asked for
  var drawnSerial = 0;  // the one on screen: an image that arrives later than a newer one is not drawn

  /* ------------------------------------------------------------ loading */

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }

  function sizeFor(image) {
    var dpr = window.devicePixelRatio || 1;
    var longest = Math.max(canvas.clientWidth, canvas.clientHeight) * dpr * Math.max(1, state.zoom);
    var wanted = Math.ceil(longest / 256) * 256;
    return Math.max(256, Math.min(Math.max(image.rows, image.columns), wanted, 2048));
  }

  function frameUrl(slice) {
    var image = slice.image;
    var params = ["size=" + sizeFor(image), "q=85"];
    if (state.window) {
      params.push("wc=" + state.window.center.toFixed(1), "ww=" + state.window.width.toFixed(1));
    } else if (state.preset) {
      params.push("preset=" + state.preset);
    }
    return image.url + (slice.frame + 1) + ".jpg?" + params.join("&");
  }

  function load(url) {
    if (cache.has(url)) {
      var hit = cache.get(url);
      cache.delete(url);
      cache.set(url, hit);  // most recently used last
      return hit;
    }
    var controller = new AbortController();
    inflight.set(url, controller);
    var promise = fetch(url, { credentials: "same-origin", signal: controller.signal }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      var center = parseFloat(r.headers.get("X-Window-Center"));
      var width = parseFloat(r.headers.get("X-Window-Width"));
      return r.blob().then(function (blob) {
        return createImageBitmap(blob).then(function (bitmap) {
          return { bitmap: bitmap, url: url,
                   window: isFinite(center) && isFinite(width) ? { center: center, width: width } : null };
        });
      });
    });
    promise.then(function () { inflight.delete(url); }, function () { inflight.delete(url); cache.delete(url); });
    cache.set(url, promise);
    while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value);
    return promise;
  }

  function neighbours() {
    return [1, 2, -1].map(function (step) { return state.slices[state.index + step]; }).filter(Boolean);
  }

  function prefetch() {
    neighbours().forEach(function (slice) {
      load(frameUrl(slice)).catch(function () { /* shown when reached */ });
    });
  }

  /* Scrolling fast over a slow link: stop downloading the slices already scrolled past, all but
     the one asked for first (the nearest to arriving). It is drawn when it comes, so the picture
     keeps moving with the finger instead of waiting for the finger to stop. */
  function abortOthers(current) {
    var keep = new Set([current].concat(neighbours().map(frameUrl)));
    var spared = false;
    inflight.forEach(function (controller, url) {
      if (keep.has(url)) return;
      if (controller.asked && !spared) { spared = true; return; }
      controller.abort();
    });
  }

  /* ------------------------------------------------------------ series and slices */

  function buildSeries(manifest) {
    var nav = root.querySelector(".dv-series");
    manifest.series.forEach(function (series, i) {
      if (!series.images.length) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "dv-thumb";
      button.setAttribute("data-series", i);
      var img = document.createElement("img");
      img.src = series.thumbnail;
      img.alt = "";
      img.width = 96;
      img.height = 96;
      var frames = series.images.reduce(function (n, im) { return n + im.frames; }, 0);
      var label = document.createElement("span");
      label.textContent = (series.number != null ? "#" + series.number + " " : "") + (series.modality || "") + " " +
        (series.description || "") + " · " + frames;
      button.title = label.textContent;  // the whole label, where the thumbnail's is cut short
      button.appendChild(img);
      button.appendChild(label);
      button.addEventListener("click", function () { selectSeries(i); });
      nav.appendChild(button);
    });
  }

  function selectSeries(i) {
    var series = state.manifest.series[i];
    state.series = i;
    state.slices = [];
    series.images.forEach(function (image) {
      for (var f = 0; f < image.frames; f++) state.slices.push({ image: image, frame: f, key: image.sop_uid + ":" + f });
    });
    Array.prototype.forEach.call(root.querySelectorAll(".dv-thumb"), function (b) {
      b.setAttribute("aria-current", String(b.getAttribute("data-series")) === String(i) ? "true" : "false");
    });
    slider.max = String(state.slices.length);
    state.index = Math.floor((state.slices.length - 1) / 2);
    state.shown = null;
    resetView(false);
    showTags();
    show();
  }

  function go(index) {
    index = Math.max(0, Math.min(state.slices.length - 1, index));
    if (index === state.index) return;
    state.index = index;
    show();
  }

  function show() {
    var slice = state.slices[state.index];
    if (!slice) return;
    slider.value = String(state.index + 1);
    counter.textContent = (t.image || "Image") + " " + (state.index + 1) + " / " + state.slices.length;
    root.setAttribute("data-index", String(state.index));
    var url = frameUrl(slice);
    var index = state.index;
    abortOthers(url);
    var serial = ++drawSerial;
    if (!state.shown) showMessage(t.loading || "Loading…");
    markPending();
    var promise = load(url);
    if (inflight.has(url)) inflight.get(url).asked = true;
    promise.then(function (loaded) {
      if (serial < drawnSerial) return;
      drawnSerial = serial;
      state.shown = { slice: slice, index: index, bitmap: loaded.bitmap, window: loaded.window, url: url, base: null };
      hideMessage();
      draw();
      root.setAttribute("data-drawn", url);
      root.setAttribute("data-drawn-index", String(index));
      markPending();
      if (serial === drawSerial) prefetch();
    }, function () {
      if (serial === drawSerial) showMessage(t.failed || "This image cannot be shown.");
    });
    showTags();
  }

  /* While the image on screen is not yet the one the slider shows, say so (a bar over the image). */
  function markPending() {
    var waiting = !state.shown || state.shown.index !== state.index || drawnSerial !== drawSerial;
    root.setAttribute("data-pending", String(waiting));
  }

  function showMessage(text) { message.textContent = text; message.hidden = false; }
  function hideMessage() { message.hidden = true; }

  /* ------------------------------------------------------------ drawing */

  function fitCanvas() {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(viewport.clientWidth * dpr));
    var h = Math.max(1, Math.round(viewport.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  }

  function geometry() {
    var image = state.shown.slice.image;
    var scale = Math.min(canvas.width / image.columns, canvas.height / image.rows) * state.zoom;
    var dpr = window.devicePixelRatio || 1;
    return {
      scale: scale, cols: image.columns, rows: image.rows,
      cx: canvas.width / 2 + state.panX * dpr, cy: canvas.height / 2 + state.panY * dpr
    };
  }

  function toImage(clientX, clientY) {
    var rect = canvas.getBoundingClientRect();
    var dpr = window.devicePixelRatio || 1;
    var g = geometry();
    var x = (clientX - rect.left) * dpr, y = (clientY - rect.top) * dpr;
    return { x: (x - g.cx) / g.scale + g.cols / 2, y: (y - g.cy) / g.scale + g.rows / 2 };
  }

  /* The image on screen, re-mapped to a new window without a round trip (8-bit approximation). */
  function previewSource() {
    var shown = state.shown;
    if (!state.preview || !shown.window) return shown.bitmap;
    if (!shown.base) {
      var off = document.createElement("canvas");
      off.width = shown.bitmap.width;
      off.height = shown.bitmap.height;
      var octx = off.getContext("2d", { willReadFrequently: true });
      octx.drawImage(shown.bitmap, 0, 0);
      shown.base = { canvas: off, data: octx.getImageData(0, 0, off.width, off.height) };
    }
    var base = shown.window, next = state.preview;
    var inverted = shown.slice.image.photometric === "MONOCHROME1";
    var lut = new Uint8ClampedArray(256);
    for (var b = 0; b < 256; b++) {
      var v0 = inverted ? 1 - b / 255 : b / 255;
      var x = base.center + (v0 - 0.5) * base.width;
      var v1 = Math.min(1, Math.max(0, (x - next.center) / next.width + 0.5));
      lut[b] = Math.round(255 * (inverted ? 1 - v1 : v1));
    }
    var src = shown.base.data.data;
    var out = new ImageData(shown.base.data.width, shown.base.data.height);
    var dst = out.data;
    for (var i = 0; i < src.length; i += 4) {
      dst[i] = lut[src[i]]; dst[i + 1] = lut[src[i + 1]]; dst[i + 2] = lut[src[i + 2]]; dst[i + 3] = 255;
    }
    var preview = document.createElement("canvas");
    preview.width = out.width;
    preview.height = out.height;
    preview.getContext("2d").putImageData(out, 0, 0);
    return preview;
  }

  function draw() {
    fitCanvas();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!state.shown) return;
    var g = geometry();
    ctx.imageSmoothingEnabled = true;
    ctx.setTransform(g.scale, 0, 0, g.scale, g.cx, g.cy);
    ctx.drawImage(previewSource(), -g.cols / 2, -g.rows / 2, g.cols, g.rows);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    drawMeasures(g);
    drawOverlays();
  }

  function lengthLabel(m, image) {
    var spacing = image.pixel_spacing;
    var dx = m.x2 - m.x1, dy = m.y2 - m.y1;
    if (!spacing) return Math.hypot(dx, dy).toFixed(0) + " px (" + (t.no_spacing || "no pixel spacing") + ")";
    var mm = Math.hypot(dx * spacing[1], dy * spacing[0]);
    var note = image.spacing_source === "ImagerPixelSpacing" ? " (" + (t.detector || "at the detector") + ")" : "";
    return mm.toFixed(1) + " mm" + note;
  }

  function drawMeasures(g) {
    var slice = state.shown.slice;
    var list = (state.measures[slice.key] || []).concat(state.drawing ? [state.drawing] : []);
    var dpr = window.devicePixelRatio || 1;
    list.forEach(function (m) {
      var x1 = g.cx + (m.x1 - g.cols / 2) * g.scale, y1 = g.cy + (m.y1 - g.rows / 2) * g.scale;
      var x2 = g.cx + (m.x2 - g.cols / 2) * g.scale, y2 = g.cy + (m.y2 - g.rows / 2) * g.scale;
      ctx.strokeStyle = "#ffd400";
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(x2, y2); ctx.stroke();
      [[x1, y1], [x2, y2]].forEach(function (p) { ctx.beginPath(); ctx.arc(p[0], p[1], 3 * dpr, 0, 7); ctx.stroke(); });
      ctx.font = (13 * dpr) + "px system-ui, sans-serif";
      ctx.fillStyle = "#ffd400";
      ctx.fillText(lengthLabel(m, slice.image), x2 + 6 * dpr, y2 - 6 * dpr);
    });
    var last = (state.measures[slice.key] || []).slice(-1)[0];
    root.setAttribute("data-measure", last ? lengthLabel(last, slice.image) : "");
  }

  function currentWindow() {
    if (state.preview) return state.preview;
    if (state.shown && state.shown.window) return state.shown.window;
    return null;
  }

  function drawOverlays() {
    var m = state.manifest, slice = state.shown.slice, image = slice.image;
    var series = m.series[state.series];
    overlays.tl.textContent = [m.patient.name, m.patient.id, m.date].filter(Boolean).join("\n");
    var position = (t.image || "Image") + " " + (state.shown.index + 1) + " / " + state.slices.length;
    if (image.frames > 1) position += " · " + (t.frame || "Frame") + " " + (slice.frame + 1) + "/" + image.frames;
    overlays.tr.textContent = [series.description, position].filter(Boolean).join("\n");
    var w = currentWindow();
    var wl = image.photometric && image.photometric.indexOf("MONO") === 0 && w
      ? "W " + Math.round(w.width) + "  L " + Math.round(w.center) : (t.colour || "");
    overlays.bl.textContent = wl + "\n" + Math.round(state.zoom * 100) + "%";
    var where = [];
    if (image.slice_location != null) {
      where.push((t.location || "Location") + " " + image.slice_location.toFixed(1) + " mm");
    }
    if (image.slice_thickness != null) where.push((t.thickness || "Thickness") + " " + image.slice_thickness + " mm");
    overlays.br.textContent = where.join("\n");
    if (w) root.setAttribute("data-window", Math.round(w.center) + "," + Math.round(w.width));
  }

  function showTags() {
    var dl = root.querySelector(".dv-tags dl");
    dl.textContent = "";
    var m = state.manifest;
    var slice = state.slices[state.index];
    if (!m || !slice) return;
    var image = slice.image, series = m.series[state.series];
    var rows = [
      ["PatientName", m.patient.name], ["PatientID", m.patient.id], ["PatientSex", m.patient.sex_label || m.patient.sex],
      ["PatientBirthDate", m.patient.birth_date], ["StudyDate", m.date], ["StudyDescription", m.description],
      ["Modality", series.modality], ["SeriesDescription", series.description], ["SeriesNumber", series.number],
      ["InstanceNumber", image.number], ["Rows × Columns", image.rows + " × " + image.columns],
      ["NumberOfFrames", image.frames > 1 ? image.frames : null],
      ["PixelSpacing", image.pixel_spacing
        ? image.pixel_spacing.map(function (v) { return v.toFixed(3); }).join(" \\ ") + " mm" : null],
      ["SliceThickness", image.slice_thickness], ["SliceLocation", image.slice_location],
      ["PhotometricInterpretation", image.photometric]
    ];
    Object.keys(image.tags || {}).forEach(function (k) { rows.push([k, image.tags[k]]); });
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") return;
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = row[0];
      dd.textContent = String(row[1]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  /* ------------------------------------------------------------ window/level, zoom, pan */

  function setWindow(w) {
    state.window = w;
    state.preset = "";
    state.preview = null;
    markPreset();
    show();
  }

  function setPreset(name) {
    state.preset = name;
    state.window = null;
    state.preview = null;
    markPreset();
    show();
  }

  function markPreset() {
    Array.prototype.forEach.call(root.querySelectorAll("[data-preset]"), function (b) {
      b.setAttribute("aria-pressed", String(!state.window && b.getAttribute("data-preset") === state.preset));
    });
  }

  function setTool(name) {
    state.tool = name;
    Array.prototype.forEach.call(root.querySelectorAll("[data-tool]"), function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-tool") === name));
    });
  }

  function resetView(redraw) {
    state.zoom = 1; state.panX = 0; state.panY = 0;
    if (redraw !== false) {
      state.measures = {};
      if (state.window || state.preset) { state.window = null; state.preset = ""; markPreset(); show(); return; }
      draw();
    }
  }

  function zoomBy(factor) {
    state.zoom = Math.max(0.25, Math.min(16, state.zoom * factor));
    draw();
  }

  /* ------------------------------------------------------------ input */

  var pointers = new Map();
  var drag = null;
  var pinch = null;

  viewport.addEventListener("pointerdown", function (ev) {
    viewport.focus({ preventScroll: true });
    try { viewport.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic or already released */ }
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    if (pointers.size === 2) {
      var p = Array.from(pointers.values());
      drag = null;
      state.drawing = null;
      pinch = { distance: Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y), zoom: state.zoom,
                mid: { x: (p[0].x + p[1].x) / 2, y: (p[0].y + p[1].y) / 2 }, panX: state.panX, panY: state.panY };
      return;
    }
    if (!state.shown) return;
    var tool = ev.shiftKey || ev.button === 1 ? "pan" : ev.button === 2 ? "zoom" : state.tool;
    drag = { tool: tool, x: ev.clientX, y: ev.clientY, index: state.index, zoom: state.zoom,
             panX: state.panX, panY: state.panY, window: currentWindow() };
    if (tool === "measure") {
      var at = toImage(ev.clientX, ev.clientY);
      state.drawing = { x1: at.x, y1: at.y, x2: at.x, y2: at.y };
    }
  });

  var frameRequested = false;
  function redrawSoon() {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(function () { frameRequested = false; draw(); });
  }

  viewport.addEventListener("pointermove", function (ev) {
    if (!pointers.has(ev.pointerId)) return;
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    if (pinch && pointers.size === 2) {
      var p = Array.from(pointers.values());
      var distance = Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y);
      state.zoom = Math.max(0.25, Math.min(16, pinch.zoom * distance / Math.max(pinch.distance, 1)));
      state.panX = pinch.panX + (p[0].x + p[1].x) / 2 - pinch.mid.x;
      state.panY = pinch.panY + (p[0].y + p[1].y) / 2 - pinch.mid.y;
      redrawSoon();
      return;
    }
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (drag.tool === "window") {
      var w = drag.window;
      if (!w || !(state.shown.slice.image.photometric || "").startsWith("MONO")) return;
      var step = Math.max(w.width, 1) / 250;
      state.preview = { center: w.center + dy * step, width: Math.max(1, w.width + dx * step) };
      redrawSoon();
    } else if (drag.tool === "pan") {
      state.panX = drag.panX + dx; state.panY = drag.panY + dy;
      redrawSoon();
    } else if (drag.tool === "zoom") {
      state.zoom = Math.max(0.25, Math.min(16, drag.zoom * Math.pow(1.01, -dy)));
      redrawSoon();
    } else if (drag.tool === "scroll") {
      go(drag.index + Math.round(dy / 12));
    } else if (drag.tool === "measure") {
      var at = toImage(ev.clientX, ev.clientY);
      state.drawing.x2 = at.x; state.drawing.y2 = at.y;
      redrawSoon();
    }
  });

  function endPointer(ev) {
    pointers.delete(ev.pointerId);
    if (pinch) { if (pointers.size < 2) pinch = null; drag = null; return; }
    if (!drag) return;
    if (drag.tool === "window" && state.preview) {
      setWindow({ center: state.preview.center, width: state.preview.width });
    } else if (drag.tool === "measure" && state.drawing) {
      var m = state.drawing;
      state.drawing = null;
      if (Math.hypot(m.x2 - m.x1, m.y2 - m.y1) > 2) {
        var key = state.shown.slice.key;
        (state.measures[key] = state.measures[key] || []).push(m);
      }
      draw();
    } else if ((drag.tool === "zoom" || drag.tool === "pan") && state.shown) {
      var wanted = frameUrl(state.shown.slice);
      if (wanted !== state.shown.url) show();  // zoomed in: fetch a sharper rendering
    }
    drag = null;
  }
  viewport.addEventListener("pointerup", endPointer);
  viewport.addEventListener("pointercancel", endPointer);
  viewport.addEventListener("contextmenu", function (ev) { ev.preventDefault(); });

  var wheelAccumulated = 0;
  viewport.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    if (ev.ctrlKey) { zoomBy(ev.deltaY < 0 ? 1.1 : 1 / 1.1); return; }
    // One slice per wheel notch; a trackpad's small deltas add up to one.
    wheelAccumulated += ev.deltaMode === 0 ? ev.deltaY : ev.deltaY * 50;
    if (Math.abs(wheelAccumulated) >= 50) {
      go(state.index + Math.sign(wheelAccumulated));
      wheelAccumulated = 0;
    }
  }, { passive: false });

  document.addEventListener("keydown", function (ev) {
    var target = ev.target;
    var typing = target && ((target.tagName === "INPUT" && target !== slider) || target.tagName === "TEXTAREA" ||
                            target.isContentEditable);
    // Ctrl, Alt and Cmd combinations belong to the browser (reload, print, zoom, back).
    if (typing || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    var handled = true;
    switch (ev.key) {
      case "ArrowDown": case "ArrowRight": case "PageDown": case "j":
        go(state.index + (ev.key === "PageDown" ? 10 : 1)); break;
      case "ArrowUp": case "ArrowLeft": case "PageUp": case "k":
        go(state.index - (ev.key === "PageUp" ? 10 : 1)); break;
      case "Home": go(0); break;
      case "End": go(state.slices.length - 1); break;
      case "+": case "=": zoomBy(1.25); break;
      case "-": zoomBy(0.8); break;
      case "r": case "R": resetView(true); break;
      case "w": setTool("window"); break;
      case "p": setTool("pan"); break;
      case "z": setTool("zoom"); break;
      case "m": setTool("measure"); break;
      case "s": setTool("scroll"); break;
      default:
        if (/^[0-9]$/.test(ev.key)) {
          var buttons = root.querySelectorAll("[data-preset]");
          var b = buttons[Number(ev.key)];
          if (b) setPreset(b.getAttribute("data-preset")); else handled = false;
        } else handled = false;
    }
    if (handled && target !== slider) ev.preventDefault();
  });

  slider.addEventListener("input", function () { go(Number(slider.value) - 1); });

  root.querySelector(".dv-toolbar").addEventListener("click", function (ev) {
    var button = ev.target.closest("button");
    if (!button) return;
    if (button.hasAttribute("data-tool")) setTool(button.getAttribute("data-tool"));
    else if (button.hasAttribute("data-preset")) setPreset(button.getAttribute("data-preset"));
    else if (button.classList.contains("dv-reset")) resetView(true);
  });

  window.addEventListener("resize", function () { if (state.shown) draw(); });

  /* ------------------------------------------------------------ start */

  // On a phone (upright or sideways) the page's header, the title and the series strip come before
  // the image: scrolled past once, so that the tools, the whole image and the slider fill the screen.
  // Not when the reader has scrolled already, and not when the stage is taller than the screen anyway.
  var PHONE = "(max-width: 899px), (orientation: landscape) and (max-height: 500px)";
  function fitStageToScreen() {
    if (!window.matchMedia || !window.matchMedia(PHONE).matches || window.scrollY > 0) return;
    var stage = root.querySelector(".dv-stage").getBoundingClientRect();
    if (stage.bottom <= window.innerHeight || stage.height > window.innerHeight) return;
    window.scrollTo(0, window.scrollY + stage.bottom - window.innerHeight);
  }

  setTool(state.tool);
  getJSON(root.getAttribute("data-manifest")).then(function (manifest) {
    state.manifest = manifest;
    buildSeries(manifest);
    fitStageToScreen();
    var first = manifest.series.findIndex(function (s) { return s.images.length; });
    if (first < 0) { showMessage(t.failed || "No images"); return; }
    markPreset();
    selectSeries(first);
  }, function () { showMessage(t.failed || "This study cannot be shown."); });
})();
