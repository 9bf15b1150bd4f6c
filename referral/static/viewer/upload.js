/* Attaching images to a case over a slow, breaking link.
 *
 * Small files (single DICOM images, photos) go in multipart batches: a batch that fails is
 * simply sent again (the server deduplicates). A batch should take a few seconds whatever the
 * link: the first is small, and each later one is sized from the rate the one before it went, so
 * a village link sends batches of a slice or two (a drop loses seconds, not minutes) and a
 * hospital's network a few large ones (each request costs the server as much as a few images).
 * The sizes come from the server (`data-batching`, `referral/dicom/limits.py`). Large files (a
 * ZIP of a study, a big multi-frame; over a slow link, any file larger than a batch) go through
 * a resumable upload: chunks of 1 MB, each acknowledged with the new offset; after a dropped
 * connection the script asks the server for the offset and continues from there, retrying until
 * the link is back. The upload id is kept in localStorage, so choosing the same file again after
 * a reload resumes it too.
 *
 * While the link is slow, each batch and each chunk is gzip-compressed in the browser
 * (CompressionStream) and sent with Content-Encoding: gzip: uncompressed CT, MR, ultrasound and
 * X-ray images shrink to a fraction of their size, which on a village clinic's link is that much
 * less waiting. The first request is compressed; when one arrives faster than SLOW_LINK the link
 * is fast and compressing would only cost the phone's time, so the next ones go as they are (and
 * compressed again if the link slows down). A body that does not shrink by a tenth (photos, ZIPs,
 * images compressed already) goes as it is.
 */
(function () {
  "use strict";

  var MB = 1024 * 1024;
  // What the server's `data-batching` says (referral/dicom/limits.py); these only stand in without it.
  var BATCHING = { first: MB, min: MB / 2, max: 16 * MB, files: 40, seconds: 4, large: 4 * MB, chunk: MB,
                   stall: 120 };
  var stallSeconds = BATCHING.stall;  // the page's uploader sets it from data-batching
  var SLOW_LINK = 2.5 * 1024 * 1024;  // bytes per second (20 Mbit/s): below it, compressing pays
  var CAN_COMPRESS = typeof CompressionStream === "function";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function fmt(text, n) { return String(text).replace("{n}", n); }

  function mb(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }

  /* XMLHttpRequest rather than fetch: it reports upload progress. Resolves {status, body};
     rejects on a network failure (status 0), and when nothing has moved for `stall` seconds (a link
     that died without saying so): that is what the retry loops wait out. A request that keeps
     moving is never cut off, however slow the link and however long it takes. */
  function send(method, url, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var moved = Date.now();
      function alive() { moved = Date.now(); }
      var watch = setInterval(function () {
        if (Date.now() - moved < stallSeconds * 1000) return;
        clearInterval(watch);
        xhr.abort();
        reject(new Error("timeout"));
      }, 1000);
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      Object.keys(headers || {}).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (xhr.upload) {
        xhr.upload.onprogress = function (ev) {
          alive();
          if (onProgress && ev.lengthComputable) onProgress(ev.loaded);
        };
        xhr.upload.onload = alive;  // all sent: the server now has `stall` seconds to answer
      }
      xhr.onprogress = alive;
      xhr.onload = function () {
        clearInterval(watch);
        var parsed = null;
        try { parsed = JSON.parse(xhr.responseText); } catch (e) { parsed = null; }
        resolve({ status: xhr.status, body: parsed });
      };
      xhr.onerror = function () { clearInterval(watch); reject(new Error("network")); };
      xhr.send(body);
    });
  }

  /* Files from a drop: folders are walked (a CD's DICOM folder is a common thing to drop). */
  function droppedFiles(dataTransfer) {
    var items = dataTransfer.items;
    if (!items || !items.length || !items[0].webkitGetAsEntry) {
      return Promise.resolve(Array.prototype.slice.call(dataTransfer.files));
    }
    var entries = [];
    for (var i = 0; i < items.length; i++) {
      var entry = items[i].webkitGetAsEntry();
      if (entry) entries.push(entry);
    }
    var out = [];
    function walk(entry, path) {
      if (entry.isFile) {
        return new Promise(function (resolve) {
          entry.file(function (file) {
            try { Object.defineProperty(file, "relativePath", { value: path + file.name }); } catch (e) { /* read-only */ }
            out.push(file);
            resolve();
          }, function () { resolve(); });
        });
      }
      var reader = entry.createReader();
      return new Promise(function (resolve) {
        var all = [];
        (function more() {
          reader.readEntries(function (batch) {
            if (!batch.length) {
              Promise.all(all.map(function (e) { return walk(e, path + entry.name + "/"); })).then(resolve);
              return;
            }
            all = all.concat(Array.prototype.slice.call(batch));
            more();
          }, function () { resolve(); });
        })();
      });
    }
    return Promise.all(entries.map(function (e) { return walk(e, ""); })).then(function () { return out; });
  }

  function Uploader(root) {
    this.root = root;
    this.filesUrl = root.getAttribute("data-files-url");
    this.uploadsUrl = root.getAttribute("data-uploads-url");
    this.caseId = root.getAttribute("data-case");
    this.t = JSON.parse(root.getAttribute("data-i18n") || "{}");
    this.batching = Object.assign({}, BATCHING, JSON.parse(root.getAttribute("data-batching") || "{}"));
    this.batchBytes = this.batching.first;
    stallSeconds = this.batching.stall;
    this.progress = root.querySelector(".dv-progress");
    this.bar = root.querySelector("progress");
    this.status = root.querySelector(".dv-status");
    this.results = root.querySelector(".dv-results");
    this.busy = false;
    this.compress = CAN_COMPRESS;
    this.online = Promise.resolve();
    this.bind();
  }

  Uploader.prototype.bind = function () {
    var self = this;
    var input = this.root.querySelector('input[type="file"]');
    var drop = this.root.querySelector(".dv-drop");
    input.addEventListener("change", function () {
      self.start(Array.prototype.slice.call(input.files));
      input.value = "";
    });
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (ev) { ev.preventDefault(); drop.classList.add("dv-over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () { drop.classList.remove("dv-over"); });
    });
    drop.addEventListener("drop", function (ev) {
      ev.preventDefault();
      droppedFiles(ev.dataTransfer).then(function (files) { self.start(files); });
    });
  };

  Uploader.prototype.say = function (text) { this.status.textContent = text; };

  /* The sign-in ended (signed out in another tab, password changed, session revoked): stop and say so;
     what was sent is kept, and a large file resumes where it stopped once signed in again. */
  Uploader.prototype.checkSignedIn = function (r) {
    if (r.status === 401 || (r.status === 400 && r.body && r.body.error === "csrf")) throw new Error("signed-out");
  };

  /* Whether to send again after this answer; what to say while waiting (a full disk is worth naming:
     the upload goes on by itself once the administrator has made room). */
  Uploader.prototype.retryAfter = function (r) {
    this.note = r.status === 507 ? this.t.full : null;
    return r.status >= 500;
  };

  Uploader.prototype.start = function (files) {
    var self = this;
    if (this.busy || !files.length) return;
    this.busy = true;
    this.total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    this.sent = 0;
    this.summary = { added: 0, duplicates: 0, rejected: [], mismatch: false };
    this.progress.hidden = false;
    this.results.textContent = "";
    this.update(0);
    var limit = this.batching.large;
    var large = files.filter(function (f) { return f.size >= limit; });
    var small = files.filter(function (f) { return f.size < limit; });
    var chain = this.sendBatches(small);
    large.forEach(function (f) { chain = chain.then(function () { return self.sendLarge(f); }); });
    chain.then(function () { self.finish(); }, function (err) {
      if (err && err.message === "signed-out") self.say(self.t.signed_out || "Signed out: reload the page");
      else self.say((self.t.failed || "Upload failed") + ": " + (err && err.message ? err.message : err));
      self.busy = false;
    });
  };

  Uploader.prototype.update = function (inFlight) {
    var done = this.sent + (inFlight || 0);
    var pct = this.total ? Math.min(100, Math.round(done * 100 / this.total)) : 100;
    this.bar.value = pct;
    this.say((this.t.uploading || "Uploading") + " " + mb(done) + " " + (this.t.of || "of") + " " +
             mb(this.total) + " (" + pct + "%)");
  };

  /* Wait before retrying: longer each time, and at once when the browser says the link is back. */
  Uploader.prototype.pause = function (attempt) {
    this.say(this.note || this.t.waiting || "Waiting to resume…");
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempt, 5)));
    return Promise.race([sleep(delay), new Promise(function (resolve) {
      window.addEventListener("online", function once() {
        window.removeEventListener("online", once);
        resolve();
      });
    })]);
  };

  Uploader.prototype.record = function (body) {
    if (!body) return;
    var s = this.summary;
    (body.studies || []).forEach(function (st) {
      s.added += st.instances_added || 0;
      s.duplicates += st.duplicates || 0;
      if (st.safety && st.safety.status === "mismatch") s.mismatch = true;
    });
    s.added += (body.attachments || []).length - (body.duplicate_files || 0);
    s.duplicates += body.duplicate_files || 0;
    (body.rejected || []).forEach(this.noteRejected, this);
  };

  /* A refused file, said in the page's language by the kind of refusal; the server's detailed
     (English) reason goes into the line's tooltip for whoever supports the clinic. */
  Uploader.prototype.noteRejected = function (r) {
    var said = (this.t.kinds || {})[r.kind];
    var text = (this.t.fileReason || "{file}: {why}").replace("{file}", r.file).replace("{why}", said || r.reason);
    this.summary.rejected.push({ text: text, detail: said ? r.reason : "" });
  };

  Uploader.prototype.refused = function (response, names) {
    var body = response.body || {};
    if (body.rejected && body.rejected.length) {
      body.rejected.forEach(this.noteRejected, this);
    } else if (body.fields && response.status === 422) {
      var s = this.summary;
      Object.keys(body.fields).forEach(function (k) { s.rejected.push(k + ": " + body.fields[k]); });
    } else {
      this.summary.rejected.push(names.join(", ") + ": " + (body.message || response.status));
    }
  };

  /* A request body ({body, headers, size}) gzip-compressed when that makes it a tenth smaller;
     as it is otherwise, or when compressing fails. */
  function compressed(plain, blob) {
    return new Response(blob.stream().pipeThrough(new CompressionStream("gzip"))).blob().then(function (small) {
      if (small.size > blob.size * 0.9) return plain;
      var headers = Object.assign({}, plain.headers, { "Content-Encoding": "gzip" });
      return { body: small, headers: headers, size: small.size };
    }).catch(function () { return plain; });
  }

  /* The small files, batch after batch, each batch made when the one before it is done. A file
     larger than a batch of this link (a photo or an ultrasound clip over a slow one) goes through
     the resumable upload instead, so that a drop costs a chunk of it, not all of it. */
  Uploader.prototype.sendBatches = function (files) {
    var self = this;
    var queue = files.slice();
    function next() {
      if (!queue.length) return Promise.resolve();
      if (queue[0].size > Math.max(self.batchBytes, self.batching.chunk)) return self.sendLarge(queue.shift()).then(next);
      return self.sendBatch(self.nextBatch(queue)).then(next);
    }
    return next();
  };

  /* Take the next batch off the queue: at least one file, then as many as fit the batch size. */
  Uploader.prototype.nextBatch = function (queue) {
    var batch = [queue.shift()], size = batch[0].size;
    while (queue.length && batch.length < this.batching.files && size + queue[0].size <= this.batchBytes) {
      size += queue[0].size;
      batch.push(queue.shift());
    }
    return batch;
  };

  /* After each request: compress the next ones only while the link is slow, and size the next batch
     to take `seconds` at the rate this one went (its files' bytes, however they were encoded). */
  Uploader.prototype.learnLink = function (wireBytes, fileBytes, started) {
    var seconds = Math.max((Date.now() - started) / 1000, 0.001);
    var b = this.batching;
    this.compress = CAN_COMPRESS && wireBytes / seconds < SLOW_LINK;
    this.batchBytes = Math.max(b.min, Math.min(b.max, Math.round(fileBytes / seconds * b.seconds)));
  };

  /* The batch's request body: the multipart form, compressed while the link is slow. */
  Uploader.prototype.batchBody = function (files) {
    var form = new FormData();
    files.forEach(function (f) { form.append("file", f, f.relativePath || f.name); });
    var plain = { body: form, headers: {}, size: files.reduce(function (sum, f) { return sum + f.size; }, 0) };
    if (!this.compress) return Promise.resolve(plain);
    var encoded = new Request(location.href, { method: "POST", body: form });
    var type = encoded.headers.get("Content-Type");
    return encoded.blob().then(function (multipart) {
      return compressed({ body: multipart, headers: { "Content-Type": type }, size: multipart.size }, multipart);
    }, function () { return plain; });
  };

  /* One chunk of a resumable upload, compressed while the link is slow. */
  Uploader.prototype.chunkBody = function (blob) {
    var plain = { body: blob, headers: {}, size: blob.size };
    return this.compress ? compressed(plain, blob) : Promise.resolve(plain);
  };

  Uploader.prototype.sendBatch = function (files) {
    var self = this;
    var bytes = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    var attempt = 0;
    function once() {
      return self.batchBody(files).then(function (payload) {
        var started = Date.now();
        return send("POST", self.filesUrl, payload.body, payload.headers, function (loaded) {
          self.update(Math.min(bytes, Math.round(loaded * bytes / Math.max(payload.size, 1))));
        }).then(function (r) {
          self.learnLink(payload.size, bytes, started);
          return r;
        });
      })
        .then(function (r) {
          self.checkSignedIn(r);
          if (r.status === 409 || self.retryAfter(r)) { throw new Error("retry"); }
          if (r.status === 201) { self.record(r.body); }
          else { self.refused(r, files.map(function (f) { return f.name; })); }
          self.sent += bytes;
          self.update(0);
        })
        .catch(function (err) {
          if (err.message !== "network" && err.message !== "timeout" && err.message !== "retry") throw err;
          attempt += 1;
          return self.pause(attempt).then(once);
        });
    }
    return once();
  };

  Uploader.prototype.key = function (file) {
    return "dicom-upload:" + this.caseId + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  };

  Uploader.prototype.session = function (file) {
    var self = this;
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(this.key(file)) || "null"); } catch (e) { saved = null; }
    function fresh() {
      return send("POST", self.uploadsUrl, JSON.stringify({ filename: file.name, size: file.size }),
                  { "Content-Type": "application/json" }).then(function (r) {
        self.checkSignedIn(r);
        if (r.status !== 201) {
          self.refused(r, [file.name]);
          return null;
        }
        try { localStorage.setItem(self.key(file), JSON.stringify({ url: r.body.url })); } catch (e) { /* full */ }
        return r.body;
      });
    }
    if (!saved || !saved.url) return fresh();
    self.say(self.t.resuming || "Resuming…");
    return send("GET", saved.url).then(function (r) { return r.status === 200 ? r.body : fresh(); });
  };

  Uploader.prototype.sendLarge = function (file) {
    var self = this;
    var attempt = 0;
    var base = self.sent;
    function step(upload) {
      if (!upload) { self.sent = base + file.size; return null; }
      var offset = upload.offset;
      self.sent = base + offset;
      self.update(0);
      if (offset >= file.size) return complete(upload);
      var end = Math.min(offset + self.batching.chunk, file.size);
      return self.chunkBody(file.slice(offset, end)).then(function (payload) {
        var started = Date.now();
        payload.headers["Upload-Offset"] = String(offset);
        payload.headers["Content-Type"] = "application/octet-stream";
        return send("PUT", upload.url, payload.body, payload.headers, function (loaded) {
          self.update(Math.round(loaded * (end - offset) / Math.max(payload.size, 1)));
        }).then(function (r) {
          self.learnLink(payload.size, end - offset, started);
          return r;
        });
      }).then(function (r) {
        self.checkSignedIn(r);
        if (r.status === 200 || r.status === 409) {
          attempt = 0;
          self.note = null;
          upload.offset = r.body && typeof r.body.offset === "number" ? r.body.offset : offset;
          return step(upload);
        }
        if (r.status === 404) {  // expired or finished elsewhere: start again
          localStorage.removeItem(self.key(file));
          return self.session(file).then(step);
        }
        if (self.retryAfter(r)) throw new Error("retry");
        self.refused(r, [file.name]);
        localStorage.removeItem(self.key(file));
        self.sent = base + file.size;
        return null;
      }).catch(function (err) {
        if (err.message !== "network" && err.message !== "timeout" && err.message !== "retry") throw err;
        attempt += 1;
        return self.pause(attempt).then(function () {
          self.say(self.t.resuming || "Resuming…");
          return send("GET", upload.url).then(function (r) {
            if (r.status === 200) { upload.offset = r.body.offset; }
            return step(upload);
          }, function () { return step(upload); });
        });
      });
    }
    function complete(upload) {
      self.say(self.t.processing || "Processing…");
      return send("POST", upload.url + "/complete", null).then(function (r) {
        self.checkSignedIn(r);
        if (self.retryAfter(r)) throw new Error("retry");  // the bytes are kept on the server: finish later
        if (r.status === 201) { self.record(r.body); }
        else if (r.status === 409 && r.body && typeof r.body.offset === "number") {
          upload.offset = r.body.offset;
          return step(upload);
        } else { self.refused(r, [file.name]); }
        localStorage.removeItem(self.key(file));
        self.sent = base + file.size;
        return null;
      }).catch(function (err) {
        if (err && err.message === "signed-out") throw err;
        attempt += 1;
        return self.pause(attempt).then(function () { return complete(upload); });
      });
    }
    return self.session(file).then(step);
  };

  Uploader.prototype.finish = function () {
    var s = this.summary, t = this.t, list = this.results;
    this.bar.value = 100;
    this.say(s.added || s.duplicates || !s.rejected.length ? (t.done || "Done.") : (t.nothing || "Nothing was added."));
    function item(text, cls, detail) {
      var li = document.createElement("li");
      li.textContent = text;
      if (cls) li.className = cls;
      if (detail) li.title = detail;
      list.appendChild(li);
    }
    if (s.added) item(fmt(t.added || "{n} added", s.added), "dv-ok");
    if (s.duplicates) item(fmt(t.duplicates || "{n} already here", s.duplicates));
    if (s.mismatch) item(t.mismatch || "Patient mismatch", "dv-warn");
    s.rejected.forEach(function (r) {
      if (typeof r === "string") r = { text: r };
      item((t.rejected || "Not accepted") + " — " + r.text, "dv-bad", r.detail);
    });
    this.busy = false;
    this.refreshPanel();
  };

  /* Show the new studies and files: reload the panel's list (keeping this upload box and its report). */
  Uploader.prototype.refreshPanel = function () {
    var panel = this.root.closest(".dicom-panel");
    var url = panel && panel.getAttribute("data-panel-url");
    if (!url) return;
    var self = this;
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (!html) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.querySelector(".dicom-panel");
      if (!fresh) return;
      var freshUpload = fresh.querySelector("[data-upload]");
      if (freshUpload) freshUpload.parentNode.replaceChild(self.root, freshUpload);
      panel.parentNode.replaceChild(fresh, panel);
      fresh.setAttribute("data-refreshed", "1");
    });
  };

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-upload]"), function (root) {
      if (!root.dvUploader) root.dvUploader = new Uploader(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
