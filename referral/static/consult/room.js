/* The consult room: browser-to-browser WebRTC (a mesh: one RTCPeerConnection per other participant),
 * signalled over Socket.IO namespace /consult (see docs/consult-signalling.md).
 *
 * Camera and microphone, mute, camera off, screen sharing (replaceTrack: no renegotiation), chat,
 * participants, connection quality from getStats, quality presets with adaptive bitrate limits set
 * through RTCRtpSender.setParameters, and reconnection after a network drop without reloading.
 */
(function () {
  "use strict";

  var cfgEl = document.getElementById("consult-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var S = cfg.strings || {};

  // Quality presets: capture constraints and the sender's bitrate ceiling (bits/s).
  var PRESETS = {
    "audio": { video: false, maxBitrate: 0 },
    "240p": { video: { width: { ideal: 426 }, height: { ideal: 240 }, frameRate: { ideal: 15 } }, maxBitrate: 200000 },
    "480p": { video: { width: { ideal: 854 }, height: { ideal: 480 }, frameRate: { ideal: 24 } }, maxBitrate: 600000 },
    "720p": { video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }, maxBitrate: 1500000 }
  };
  var STATS_EVERY_MS = 2000;
  var ANSWERED = { join: true, chat: true, "record-start": true, "record-stop": true };
  var QUIET = { ice: true, leave: true, "offer:not_found": true, "answer:not_found": true };
  // Every time on the site is Beijing time (the footer says so), whatever the computer's clock zone.
  var TIME_FORMAT = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" };

  var state = {
    socket: null,
    me: null,
    joined: false,
    iceServers: [],
    peers: new Map(),          // sid -> peer
    local: null,               // MediaStream (camera + microphone)
    audioTrack: null,
    cameraTrack: null,
    screenTrack: null,
    audioOn: true,
    videoOn: true,
    preset: localStorage.getItem("consult.preset") || "480p",
    recording: null,
    left: false
  };
  if (!PRESETS[state.preset]) state.preset = "480p";

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fmt(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function setStatus(text, kind) {
    var s = $("consult-status");
    if (!s) return;
    s.textContent = text;
    s.dataset.kind = kind || "";
  }
  function notice(text, link) {
    var log = $("consult-chat-log");
    if (!log) return;
    var line = el("li", "chat-notice", text);
    if (link) {
      var a = el("a", null, link.text);
      a.href = link.href; a.target = "_blank"; a.rel = "noopener";
      line.appendChild(document.createTextNode(" "));
      line.appendChild(a);
    }
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }
  function newId() {
    return Math.random().toString(36).slice(2, 10) + Date.now().toString(36).slice(-4);
  }

  // ------------------------------------------------------------------ local media

  function currentVideoTrack() {
    if (state.screenTrack) return state.screenTrack;
    if (!state.videoOn || state.preset === "audio") return null;
    return state.cameraTrack;
  }

  async function startMedia() {
    var preset = PRESETS[state.preset];
    var constraints = { audio: { echoCancellation: true, noiseSuppression: true }, video: preset.video || false };
    var stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (e) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      } catch (e2) {
        notice(S.noCamera || "No camera or microphone");
        stream = new MediaStream();
      }
    }
    state.local = stream;
    state.audioTrack = stream.getAudioTracks()[0] || null;
    state.cameraTrack = stream.getVideoTracks()[0] || null;
    if (state.audioTrack) state.audioTrack.enabled = state.audioOn;
    var v = $("consult-local-video");
    if (v) { v.srcObject = stream; v.muted = true; }
    renderControls(); renderParticipants();
  }

  async function ensureCamera() {
    if (state.cameraTrack && state.cameraTrack.readyState === "live") return state.cameraTrack;
    if (!state.local) return null;
    var preset = PRESETS[state.preset];
    if (!preset.video) return null;
    try {
      var s = await navigator.mediaDevices.getUserMedia({ video: preset.video });
      state.cameraTrack = s.getVideoTracks()[0];
      state.local.addTrack(state.cameraTrack);
      var v = $("consult-local-video");
      if (v) v.srcObject = state.local;
    } catch (e) {
      state.cameraTrack = null;
    }
    return state.cameraTrack;
  }

  /* Camera off or audio only: stop the camera itself (its light goes out), not just its frames. */
  function releaseCamera() {
    if (!state.cameraTrack) return;
    state.cameraTrack.stop();
    if (state.local) state.local.removeTrack(state.cameraTrack);
    state.cameraTrack = null;
  }

  function eachSender(kind, fn) {
    state.peers.forEach(function (peer) {
      if (!peer.pc) return;
      peer.pc.getTransceivers().forEach(function (t) {
        if (t.sender && (t.sender.track ? t.sender.track.kind === kind : t.receiver.track && t.receiver.track.kind === kind)) {
          fn(t.sender, peer, t);
        }
      });
    });
  }

  function refreshVideoSenders() {
    var track = currentVideoTrack();
    eachSender("video", function (sender) {
      if (sender.track !== track) sender.replaceTrack(track).catch(function () {});
    });
    applyBitrateCaps();
  }

  function sendMediaState() {
    if (!state.socket || !state.joined) return;
    state.socket.emit("media", {
      audio: !!(state.audioTrack && state.audioOn),
      video: !!(currentVideoTrack() && !state.screenTrack),
      screen: !!state.screenTrack,
      preset: state.preset
    });
  }

  function toggleAudio() {
    state.audioOn = !state.audioOn;
    if (state.audioTrack) state.audioTrack.enabled = state.audioOn;
    renderControls(); sendMediaState(); renderParticipants();
  }

  async function toggleVideo() {
    state.videoOn = !state.videoOn;
    if (state.videoOn) await ensureCamera(); else releaseCamera();
    refreshVideoSenders(); renderControls(); sendMediaState(); renderParticipants();
  }

  async function toggleScreen() {
    if (state.screenTrack) { stopScreen(); return; }
    try {
      var s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
      state.screenTrack = s.getVideoTracks()[0];
      state.screenTrack.contentHint = "detail";
      state.screenTrack.onended = stopScreen;
      var v = $("consult-local-video");
      if (v) v.srcObject = new MediaStream([state.screenTrack]);
    } catch (e) {
      return;
    }
    refreshVideoSenders(); renderControls(); sendMediaState(); renderParticipants();
  }

  function stopScreen() {
    if (!state.screenTrack) return;
    state.screenTrack.onended = null;
    state.screenTrack.stop();
    state.screenTrack = null;
    var v = $("consult-local-video");
    if (v) v.srcObject = state.local;
    refreshVideoSenders(); renderControls(); sendMediaState(); renderParticipants();
  }

  async function choosePreset(name) {
    if (!PRESETS[name]) return;
    state.preset = name;
    localStorage.setItem("consult.preset", name);
    var preset = PRESETS[name];
    if (preset.video && state.videoOn) {
      var cam = await ensureCamera();
      if (cam) { try { await cam.applyConstraints(preset.video); } catch (e) { /* keep the current size */ } }
    } else if (!preset.video) {
      releaseCamera();
    }
    state.peers.forEach(function (p) { p.bitrateCap = null; });
    refreshVideoSenders(); sendMediaState(); renderControls();
  }

  // ------------------------------------------------------------------ adaptive bitrate

  function presetCap() {
    var cap = PRESETS[state.preset].maxBitrate;
    return state.screenTrack ? Math.max(cap, 600000) : cap;
  }

  function applyBitrateCaps() {
    eachSender("video", function (sender, peer) {
      var cap = presetCap();
      var limit = peer.bitrateCap ? Math.min(peer.bitrateCap, cap) : cap;
      var params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) params.encodings = [{}];
      if (limit > 0) params.encodings[0].maxBitrate = Math.round(limit);
      else delete params.encodings[0].maxBitrate;
      params.encodings[0].active = limit > 0 || !!state.screenTrack;
      sender.setParameters(params).catch(function () {});
    });
  }

  /* Loss or a long round trip: back off 30 %; a clean link: creep back up 10 % towards the preset. */
  function adapt(peer, q) {
    var cap = presetCap();
    if (!cap) return;
    var current = peer.bitrateCap || cap;
    var next = current;
    if ((q.loss !== null && q.loss > 0.08) || (q.rtt_ms !== null && q.rtt_ms > 600)) next = Math.max(cap * 0.15, current * 0.7);
    else if (q.loss !== null && q.loss < 0.02) next = Math.min(cap, current * 1.1);
    if (Math.abs(next - current) > 1000) {
      peer.bitrateCap = next;
      applyBitrateCaps();
    }
  }

  async function measure(peer) {
    if (!peer.pc || peer.pc.connectionState !== "connected") return null;
    var report = await peer.pc.getStats();
    var now = performance.now();
    var bytesIn = 0, bytesOut = 0, rtt = null, lost = 0, received = 0, frames = 0, fractionLost = null;
    report.forEach(function (s) {
      if (s.type === "inbound-rtp") {
        bytesIn += s.bytesReceived || 0;
        lost += Math.max(0, s.packetsLost || 0);
        received += s.packetsReceived || 0;
        if (s.kind === "video") frames += s.framesDecoded || 0;
      } else if (s.type === "outbound-rtp") {
        bytesOut += s.bytesSent || 0;
      } else if (s.type === "remote-inbound-rtp") {
        if (typeof s.fractionLost === "number") fractionLost = Math.max(fractionLost || 0, s.fractionLost);
      } else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
        if (typeof s.currentRoundTripTime === "number") rtt = s.currentRoundTripTime * 1000;
      }
    });
    var prev = peer.lastStats;
    peer.lastStats = { t: now, bytesIn: bytesIn, bytesOut: bytesOut, lost: lost, received: received };
    peer.framesDecoded = frames;
    if (!prev) return null;
    var dt = (now - prev.t) / 1000;
    var dLost = lost - prev.lost, dRecv = received - prev.received;
    var lossIn = dLost + dRecv > 0 ? dLost / (dLost + dRecv) : 0;
    return {
      rtt_ms: rtt === null ? null : Math.round(rtt),
      loss: Math.min(1, Math.max(lossIn, fractionLost || 0)),
      kbps_in: Math.max(0, Math.round((bytesIn - prev.bytesIn) * 8 / dt / 1000)),
      kbps_out: Math.max(0, Math.round((bytesOut - prev.bytesOut) * 8 / dt / 1000))
    };
  }

  var statsRound = 0;
  async function statsLoop() {
    var report = {};
    var peers = Array.from(state.peers.values());
    for (var i = 0; i < peers.length; i++) {
      try {
        var q = await measure(peers[i]);
        if (q) { peers[i].quality = q; report[peers[i].sid] = q; adapt(peers[i], q); }
      } catch (e) { /* a closing connection */ }
    }
    renderParticipants();
    statsRound += 1;
    if (state.socket && state.joined && Object.keys(report).length && statsRound % 3 === 0) {
      state.socket.emit("quality", { stats: report, preset: state.preset });
    }
  }

  // ------------------------------------------------------------------ peer connections

  function peerFor(sid, info) {
    var peer = state.peers.get(sid);
    if (!peer) {
      peer = { sid: sid, info: info || {}, pc: null, pcId: null, pendingIce: [], quality: null, bitrateCap: null,
               framesDecoded: 0, remoteQuality: null };
      state.peers.set(sid, peer);
      addTile(peer);
    } else if (info) {
      peer.info = info;
    }
    return peer;
  }

  function closePc(peer) {
    if (peer.pc) {
      peer.pc.onicecandidate = null; peer.pc.ontrack = null; peer.pc.onconnectionstatechange = null;
      try { peer.pc.close(); } catch (e) { /* already closed */ }
    }
    peer.pc = null; peer.pcId = null; peer.pendingIce = []; peer.lastStats = null;
  }

  function removePeer(sid) {
    var peer = state.peers.get(sid);
    if (!peer) return;
    closePc(peer);
    state.peers.delete(sid);
    var tile = document.querySelector('[data-peer="' + CSS.escape(sid) + '"]');
    if (tile) tile.remove();
    renderParticipants();
  }

  function createPc(peer, pcId) {
    closePc(peer);
    var pc = new RTCPeerConnection({ iceServers: state.iceServers, bundlePolicy: "max-bundle" });
    peer.pc = pc; peer.pcId = pcId;
    pc.onicecandidate = function (e) {
      state.socket.emit("ice", { to: peer.sid, pc: pcId, candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    pc.ontrack = function (e) {
      var video = tileVideo(peer);
      var stream = video.srcObject instanceof MediaStream ? video.srcObject : new MediaStream();
      stream.getTracks().forEach(function (t) { if (t.kind === e.track.kind && t !== e.track) stream.removeTrack(t); });
      stream.addTrack(e.track);
      video.srcObject = stream;
      video.play().catch(function () {});
    };
    pc.onconnectionstatechange = function () {
      var tile = document.querySelector('[data-peer="' + CSS.escape(peer.sid) + '"]');
      if (tile) tile.dataset.state = pc.connectionState;
      if (pc.connectionState === "connected") applyBitrateCaps();
      if (pc.connectionState === "failed" && peer.pc === pc && peer.offerer) {
        offerTo(peer);  // a fresh connection (ICE restart) while signalling still works
      }
      renderParticipants();
    };
    return pc;
  }

  function addLocalTransceivers(pc) {
    var audio = state.audioTrack, video = currentVideoTrack();
    pc.addTransceiver(audio || "audio", { direction: "sendrecv", streams: state.local ? [state.local] : [] });
    pc.addTransceiver(video || "video", { direction: "sendrecv", streams: state.local ? [state.local] : [] });
  }

  async function offerTo(peer) {
    var pcId = newId();
    var pc = createPc(peer, pcId);
    peer.offerer = true;
    addLocalTransceivers(pc);
    var offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    state.socket.emit("offer", { to: peer.sid, pc: pcId, sdp: pc.localDescription.sdp });
  }

  async function onOffer(msg) {
    var peer = peerFor(msg.from);
    if (peer.pc && peer.pc.signalingState === "have-local-offer" && state.me && state.me.sid < msg.from) {
      return;  // both offered at once: the smaller id's offer wins, the other side answers it
    }
    var pc = createPc(peer, msg.pc);
    peer.offerer = false;
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    var audio = state.audioTrack, video = currentVideoTrack();
    pc.getTransceivers().forEach(function (t) {
      var kind = t.receiver.track && t.receiver.track.kind;
      t.direction = "sendrecv";
      if (kind === "audio" && audio) t.sender.replaceTrack(audio);
      if (kind === "video" && video) t.sender.replaceTrack(video);
      if (state.local && t.sender.setStreams) t.sender.setStreams(state.local);
    });
    var answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    state.socket.emit("answer", { to: peer.sid, pc: msg.pc, sdp: pc.localDescription.sdp });
    flushIce(peer);
  }

  async function onAnswer(msg) {
    var peer = state.peers.get(msg.from);
    if (!peer || !peer.pc || peer.pcId !== msg.pc || peer.pc.signalingState !== "have-local-offer") return;
    await peer.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
    flushIce(peer);
  }

  function onIce(msg) {
    var peer = state.peers.get(msg.from);
    if (!peer || !peer.pc || (msg.pc && msg.pc !== peer.pcId)) return;
    if (!msg.candidate || !msg.candidate.candidate) return;
    if (!peer.pc.remoteDescription) { peer.pendingIce.push(msg.candidate); return; }
    peer.pc.addIceCandidate(msg.candidate).catch(function () {});
  }

  function flushIce(peer) {
    var list = peer.pendingIce; peer.pendingIce = [];
    list.forEach(function (c) { peer.pc.addIceCandidate(c).catch(function () {}); });
  }

  // ------------------------------------------------------------------ signalling

  function connect() {
    var socket = io(cfg.namespace || "/consult", { path: "/socket.io", transports: ["websocket"], withCredentials: true,
                                                   reconnectionDelay: 500, reconnectionDelayMax: 5000 });
    state.socket = socket;
    socket.on("connect", function () { if (!state.left) join(); });
    socket.on("disconnect", function () {
      state.joined = false;
      if (!state.left) setStatus(S.reconnecting || "Reconnecting…", "warn");
    });
    socket.on("connect_error", function () { setStatus(S.reconnecting || "Reconnecting…", "warn"); });
    socket.on("peer-joined", function (info) {
      peerFor(info.sid, info); renderParticipants();
      notice(fmt(S.peerJoined, { name: displayName(info) }));
    });
    socket.on("peer-left", function (msg) {
      var peer = state.peers.get(msg.sid);
      if (peer) notice(fmt(S.peerLeft, { name: displayName(peer.info) }));
      removePeer(msg.sid);
    });
    socket.on("offer", function (m) { onOffer(m).catch(reportError); });
    socket.on("answer", function (m) { onAnswer(m).catch(reportError); });
    socket.on("ice", onIce);
    socket.on("chat", addChat);
    socket.on("media-state", function (m) {
      var peer = state.peers.get(m.sid);
      if (peer) { peer.info.media = m; renderParticipants(); }
    });
    socket.on("quality", function (m) {
      var peer = state.peers.get(m.from);
      if (peer && state.me && m.stats) { peer.remoteQuality = m.stats[state.me.sid] || null; renderParticipants(); }
    });
    socket.on("recording", showRecording);
    // Events sent with a reply hear of a refusal in the reply; of the others, a refused candidate or
    // a signal to someone who has just left changes nothing the user can act on.
    socket.on("error", function (m) {
      if (m && !ANSWERED[m.event] && !QUIET[m.event] && !QUIET[m.event + ":" + m.error]) reportError(m);
    });
  }

  function join() {
    setStatus(S.connecting || "Connecting…", "warn");
    state.socket.emit("join", { case_id: cfg.caseId }, function (ack) {
      if (!ack || !ack.ok) { reportError(ack, "join"); setStatus(describe(ack, "join"), "error"); return; }
      state.peers.forEach(function (p) { closePc(p); });
      Array.from(document.querySelectorAll("[data-peer]")).forEach(function (t) { t.remove(); });
      state.peers.clear();
      state.me = ack.self;
      state.joined = true;
      state.iceServers = ack.ice_servers || [];
      var log = $("consult-chat-log");
      if (log) { log.textContent = ""; (ack.chat || []).forEach(addChat); }
      showRecording(ack.recording);
      (ack.peers || []).forEach(function (info) {
        offerTo(peerFor(info.sid, info)).catch(reportError);
      });
      setStatus(S.connected || "Connected", "ok");
      sendMediaState();
      renderParticipants();
    });
  }

  function leave() {
    state.left = true;
    if (state.socket) state.socket.emit("leave", {});
    state.peers.forEach(function (p) { closePc(p); });
    Array.from(document.querySelectorAll("[data-peer]")).forEach(function (t) { t.remove(); });
    state.peers.clear();
    state.joined = false;
    setStatus(S.disconnected || "Disconnected", "");
    renderControls(); renderParticipants();
  }

  function rejoin() {
    state.left = false;
    if (state.socket.connected) join(); else state.socket.connect();
    renderControls();
  }

  /* A refusal (`{error, message, event}` from the server) or a browser exception, as a sentence in
     the page's language; the server's own (English) message goes to the console only. */
  var REFUSALS = {
    "join:forbidden": "join", "join:not_found": "join", "chat:validation": "chat",
    "record-start:conflict": "recordingRunning", "record-start:forbidden": "recordingForbidden",
    "record-stop:forbidden": "recordingForbidden", "record-stop:not_found": "noRecording"
  };
  var MEDIA_ERRORS = {
    NotAllowedError: "mediaDenied", SecurityError: "mediaDenied", NotReadableError: "mediaBusy",
    AbortError: "mediaBusy"
  };
  function describe(e, event) {
    var E = S.errors || {};
    if (e && e.error) return E[REFUSALS[(event || e.event) + ":" + e.error]] || E[e.error] || E.failed || e.error;
    if (e && (e.name === "NotFoundError" || e.name === "OverconstrainedError")) return S.noCamera;
    return (e && E[MEDIA_ERRORS[e.name]]) || E.failed || String(e);
  }
  function reportError(e, event) {
    if (window.console) console.warn("consult:", event || "", e);
    notice(describe(e, event));
  }

  // ------------------------------------------------------------------ chat and recording

  function addChat(m) {
    var log = $("consult-chat-log");
    if (!log || !m) return;
    var li = el("li", "chat-line");
    var when = new Date(m.at);
    li.appendChild(el("span", "chat-who", (m.from && m.from.name) || ""));
    li.appendChild(el("time", "chat-time", isNaN(when) ? "" : when.toLocaleTimeString([], TIME_FORMAT)));
    li.appendChild(el("span", "chat-text", m.text));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function sendChat(ev) {
    ev.preventDefault();
    var input = $("consult-chat-input");
    var text = input.value.trim();
    if (!text || !state.joined) return;
    state.socket.emit("chat", { text: text }, function (ack) {
      if (ack && ack.ok) input.value = ""; else reportError(ack, "chat");
    });
  }

  function showRecording(r) {
    state.recording = r && (r.state === "starting" || r.state === "recording" || r.state === "stopping") ? r : null;
    var banner = $("consult-recording");
    if (banner) {
      banner.hidden = !state.recording;
      if (state.recording) {
        var label = { starting: S.recordingStarting, recording: S.recording, stopping: S.recordingStopping }[r.state];
        banner.textContent = "● " + label + (r.by ? " · " + r.by : "");
      }
    }
    if (r && r.state === "ready") notice(S.recordingSaved || "Recording saved", r.url ? { href: r.url, text: S.play || "Play" } : null);
    if (r && r.state === "failed") notice(S.recordingFailed || "Recording failed");
    renderControls();
  }

  function toggleRecording() {
    var event = state.recording ? "record-stop" : "record-start";
    state.socket.emit(event, {}, function (ack) { if (!ack || !ack.ok) reportError(ack, event); });
  }

  // ------------------------------------------------------------------ rendering

  function displayName(info) {
    if (!info) return "";
    var name = (info.user && info.user.name) || "";
    if (info.role === "recorder") return (S.recorder || "Recorder") + (name ? " · " + name : "");
    if (info.role === "streamer") return (info.label || S.streamer || "Video source") + (name ? " · " + name : "");
    return name;
  }

  function addTile(peer) {
    var grid = $("consult-videos");
    if (!grid || peer.info.role === "recorder") return;
    var tile = el("figure", "tile");
    tile.dataset.peer = peer.sid;
    tile.dataset.state = "new";
    var video = el("video");
    video.autoplay = true; video.playsInline = true;
    tile.appendChild(video);
    tile.appendChild(el("span", "tile-placeholder", (peer.info.user && peer.info.user.name) || ""));
    tile.appendChild(el("figcaption", null, displayName(peer.info)));
    grid.appendChild(tile);
  }

  function tileVideo(peer) {
    var tile = document.querySelector('[data-peer="' + CSS.escape(peer.sid) + '"]');
    if (!tile) { addTile(peer); tile = document.querySelector('[data-peer="' + CSS.escape(peer.sid) + '"]'); }
    if (!tile) { var hidden = el("video"); return hidden; }
    return tile.querySelector("video");
  }

  function qualityText(q) {
    if (!q) return "";
    var parts = [];
    if (q.rtt_ms !== null && q.rtt_ms !== undefined) parts.push((S.rtt || "RTT") + " " + q.rtt_ms + " ms");
    if (q.loss !== null && q.loss !== undefined) parts.push((S.loss || "loss") + " " + (q.loss * 100).toFixed(1) + "%");
    parts.push("↓" + (q.kbps_in || 0) + " ↑" + (q.kbps_out || 0) + " " + (S.kbps || "kbit/s"));
    return parts.join(" · ");
  }

  function qualityLevel(q) {
    if (!q) return "";
    if ((q.loss || 0) > 0.08 || (q.rtt_ms || 0) > 600) return "bad";
    if ((q.loss || 0) > 0.02 || (q.rtt_ms || 0) > 250) return "fair";
    return "good";
  }

  function presetName(preset) {
    return preset === "audio" ? (S.audioOnly || "Audio only") : preset;
  }

  function mediaText(media, role) {
    if (role === "recorder") return S.recording || "Recording";
    if (!media) return "";
    var parts = [];
    if (!media.audio) parts.push(S.muted || "muted");
    if (media.screen) parts.push(S.sharing || "sharing screen");
    else if (!media.video) parts.push(S.cameraOff || "camera off");
    if (media.preset) parts.push(presetName(media.preset));
    return parts.join(" · ");
  }

  function renderParticipants() {
    var list = $("consult-participants");
    if (!list) return;
    list.textContent = "";
    if (state.me && state.joined) {
      var mine = el("li", "person me");
      mine.appendChild(el("span", "person-name", (S.you || "You") + " · " + (cfg.me.name || "")));
      mine.appendChild(el("span", "person-media", mediaText({
        audio: !!(state.audioTrack && state.audioOn), video: !!currentVideoTrack(), screen: !!state.screenTrack,
        preset: state.preset })));
      list.appendChild(mine);
    }
    state.peers.forEach(function (peer) {
      var li = el("li", "person");
      li.dataset.sid = peer.sid;
      li.dataset.state = peer.pc ? peer.pc.connectionState : "new";
      li.appendChild(el("span", "person-name", displayName(peer.info)));
      var media = mediaText(peer.info.media, peer.info.role);
      li.appendChild(el("span", "person-media", media));
      var q = el("span", "person-quality q-" + qualityLevel(peer.quality), qualityText(peer.quality));
      li.appendChild(q);
      list.appendChild(li);
      var tile = document.querySelector('[data-peer="' + CSS.escape(peer.sid) + '"]');
      if (tile) {
        tile.querySelector("figcaption").textContent = displayName(peer.info) + (media ? " · " + media : "");
        var m = peer.info.media;
        tile.dataset.video = m && !m.video && !m.screen ? "off" : "on";
      }
    });
    var me = document.querySelector(".tile-me");
    if (me) { me.dataset.video = currentVideoTrack() ? "on" : "off"; me.dataset.screen = state.screenTrack ? "on" : "off"; }
  }

  function renderControls() {
    var mic = $("consult-mic"), cam = $("consult-cam"), screen = $("consult-screen"), rec = $("consult-record");
    var leaveBtn = $("consult-leave"), rejoinBtn = $("consult-rejoin"), preset = $("consult-preset");
    // Each button says what pressing it does now; the highlight says that something is off or shared.
    if (mic) {
      mic.textContent = state.audioOn ? (S.mute || "Mute") : (S.unmute || "Unmute");
      mic.dataset.active = String(!state.audioOn); mic.disabled = !state.audioTrack;
    }
    if (cam) {
      cam.textContent = state.videoOn ? (S.cameraOffButton || "Camera off") : (S.cameraOnButton || "Camera on");
      cam.dataset.active = String(!state.videoOn); cam.disabled = state.preset === "audio";
    }
    if (screen) {
      screen.textContent = state.screenTrack ? (S.stopSharing || "Stop sharing") : (S.shareScreen || "Share screen");
      screen.dataset.active = String(!!state.screenTrack);
      screen.disabled = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    }
    if (rec) {
      rec.hidden = !cfg.mayRecord;
      rec.textContent = state.recording ? (S.stopRecording || "Stop recording") : (S.startRecording || "Record");
      rec.disabled = !!(state.recording && state.recording.state === "stopping");
    }
    if (leaveBtn) leaveBtn.hidden = state.left;
    if (rejoinBtn) rejoinBtn.hidden = !state.left;
    if (preset) preset.value = state.preset;
  }

  // ------------------------------------------------------------------ start

  function wire() {
    $("consult-mic") && $("consult-mic").addEventListener("click", toggleAudio);
    $("consult-cam") && $("consult-cam").addEventListener("click", function () { toggleVideo().catch(reportError); });
    $("consult-screen") && $("consult-screen").addEventListener("click", function () { toggleScreen().catch(reportError); });
    $("consult-preset") && $("consult-preset").addEventListener("change", function (e) { choosePreset(e.target.value).catch(reportError); });
    $("consult-record") && $("consult-record").addEventListener("click", toggleRecording);
    $("consult-leave") && $("consult-leave").addEventListener("click", leave);
    $("consult-rejoin") && $("consult-rejoin").addEventListener("click", rejoin);
    $("consult-chat-form") && $("consult-chat-form").addEventListener("submit", sendChat);
    window.addEventListener("pagehide", function () { if (state.socket) state.socket.emit("leave", {}); });
  }

  // For people who debug a consult from the console, and for the automated checks.
  window.consult = {
    state: state,
    peers: function () {
      return Array.from(state.peers.values()).map(function (p) {
        return { sid: p.sid, role: p.info.role, name: displayName(p.info),
                 connectionState: p.pc ? p.pc.connectionState : "new", framesDecoded: p.framesDecoded,
                 quality: p.quality };
      });
    },
    choosePreset: choosePreset,
    toggleAudio: toggleAudio,
    toggleVideo: toggleVideo
  };

  wire();
  renderControls();
  startMedia().catch(reportError).then(function () {
    connect();
    setInterval(function () { statsLoop().catch(function () {}); }, STATS_EVERY_MS);
  });
})();
