// Photos on the report form, made light for a phone before they are sent (docs/intake-api.md,
// "Photos scaled in the browser"). A JPEG, PNG or WebP photo whose long edge is above the form's
// data-foto-kante (pixels), or which is larger than the server takes, is drawn smaller on a
// canvas and sent as a JPEG. A JPEG keeps its EXIF block (where and when the photo was taken,
// which the server reads and then strips) with the orientation set to 1, as the pixels are
// drawn upright. The form is then sent by XMLHttpRequest with a progress bar, and the answer
// (the confirmation, or the form with what was wrong) replaces the page.
//
// What cannot be done here leaves the photo as it was: an old browser, a photo the browser
// cannot decode (HEIC in Chromium), an orientation whose effect cannot be checked (mirrored or
// turned by 180°), a smaller result that is not smaller. The server's limits and its stripping
// of metadata stay as they are; without this script the form is sent as before.
//
// Used by the form's own script (page.cpp): window.meldestelleFotos.verkleinerbar(file) and
// .senden(form, files, done). Its texts come with the page (window.meldestelleText). A
// change to this file gets a new name (fotos-3.js …): browsers keep it for a year.
(function () {
  'use strict';
  var form = document.getElementById('meldung');
  if (!form || !window.FormData || !FormData.prototype.delete || !window.XMLHttpRequest ||
      !window.Uint8Array || !window.Promise || !window.URL || !URL.createObjectURL) return;
  var kante = parseInt(form.getAttribute('data-foto-kante'), 10) || 0;
  var maxBytes = Number(form.getAttribute('data-max-bytes')) || 0;
  var maxText = form.getAttribute('data-max-groesse') || '';
  var leinwand = document.createElement('canvas');
  var kannVerkleinern = kante > 0 && !!leinwand.getContext && !!leinwand.toBlob &&
      typeof new Image().decode === 'function' && leinwandEhrlich();
  var QUALITAET = 0.85;
  // The texts in the page's language, from the form's own script (page.cpp).
  var sagt = window.meldestelleText || function (key) { return key; };
  var bereich = document.getElementById('senden-fortschritt');
  var text = document.getElementById('fortschritt-text');
  var balken = document.getElementById('fortschritt-balken');

  // Browsers that protect against fingerprinting (Tor Browser, Firefox's resistFingerprinting)
  // give a canvas back blank or changed: a photo drawn there would be lost, so none is scaled.
  function leinwandEhrlich() {
    try {
      var probe = document.createElement('canvas');
      probe.width = probe.height = 2;
      var ctx = probe.getContext('2d');
      ctx.fillStyle = 'rgb(12, 200, 34)';
      ctx.fillRect(0, 0, 2, 2);
      var d = ctx.getImageData(0, 0, 1, 1).data;
      return d[0] === 12 && d[1] === 200 && d[2] === 34;
    } catch (e) {
      return false;
    }
  }

  function verkleinerbar(f) {
    return kannVerkleinern && /^image\/(jpeg|png|webp)$/.test(f.type);
  }

  function lesen(blob) {
    if (blob.arrayBuffer) {
      return blob.arrayBuffer().then(function (b) { return new Uint8Array(b); });
    }
    return new Promise(function (ok, fehler) {
      var r = new FileReader();
      r.onload = function () { ok(new Uint8Array(r.result)); };
      r.onerror = function () { fehler(r.error); };
      r.readAsArrayBuffer(blob);
    });
  }

  // The orientation in an EXIF segment (b from the segment's marker; the TIFF header follows
  // "Exif\0\0" at 10): its value and where the value lies, or null if the block cannot be read.
  function orientierung(b) {
    var t = 10;
    if (b.length < t + 8) return null;
    var le;
    if (b[t] === 0x49 && b[t + 1] === 0x49) le = true;
    else if (b[t] === 0x4D && b[t + 1] === 0x4D) le = false;
    else return null;
    function u16(o) {
      if (o < 0 || o + 2 > b.length) throw new RangeError('EXIF');
      return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
    }
    function u32(o) {
      if (o < 0 || o + 4 > b.length) throw new RangeError('EXIF');
      return le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 16777216 :
          b[o] * 16777216 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
    }
    try {
      var ifd = t + u32(t + 4);
      var n = u16(ifd);
      for (var k = 0; k < n; k++) {
        var e = ifd + 2 + 12 * k;
        if (u16(e) === 0x0112) {
          if (u16(e + 2) !== 3) return null;  // not a SHORT: a broken block
          return {wert: u16(e + 8), bei: e + 8, le: le};
        }
      }
      return {wert: 1, bei: -1, le: le};
    } catch (err) {
      return null;
    }
  }

  // A JPEG's header: the first EXIF segment (a copy, marker included), its orientation and the
  // frame's stored size. null: not a JPEG this can read.
  function jpegKopf(b) {
    if (b.length < 4 || b[0] !== 0xFF || b[1] !== 0xD8) return null;
    var kopf = {exif: null, o: {wert: 1, bei: -1}, breite: 0, hoehe: 0};
    var i = 2;
    while (i + 4 <= b.length) {
      if (b[i] !== 0xFF) return null;
      var m = b[i + 1];
      if (m === 0xFF) { i++; continue; }
      if (m === 0x01 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; }
      if (m === 0xDA || m === 0xD9) break;
      var laenge = (b[i + 2] << 8) | b[i + 3];
      if (laenge < 2 || i + 2 + laenge > b.length) return null;
      var s = i + 4;
      if (m === 0xE1 && !kopf.exif && laenge >= 16 && b[s] === 0x45 && b[s + 1] === 0x78 &&
          b[s + 2] === 0x69 && b[s + 3] === 0x66 && b[s + 4] === 0 && b[s + 5] === 0) {
        kopf.exif = b.slice(i, i + 2 + laenge);
        kopf.o = orientierung(kopf.exif);
        if (!kopf.o) return null;
      } else if (m >= 0xC0 && m <= 0xCF && m !== 0xC4 && m !== 0xC8 && m !== 0xCC &&
                 laenge >= 7) {
        kopf.hoehe = (b[s + 1] << 8) | b[s + 2];
        kopf.breite = (b[s + 3] << 8) | b[s + 4];
      }
      i += 2 + laenge;
    }
    return kopf.breite > 0 && kopf.hoehe > 0 ? kopf : null;
  }

  // The canvas's JPEG with the original's EXIF segment after its SOI and JFIF segment.
  function mitExif(jpeg, kopf) {
    if (!kopf || !kopf.exif) return Promise.resolve(jpeg);
    return lesen(jpeg).then(function (b) {
      if (b.length < 4 || b[0] !== 0xFF || b[1] !== 0xD8) return jpeg;
      var nach = 2;
      if (b[2] === 0xFF && b[3] === 0xE0 && b.length > 6) nach = 4 + ((b[4] << 8) | b[5]);
      var exif = kopf.exif.slice();
      if (kopf.o.bei >= 0) {  // upright now: orientation 1
        exif[kopf.o.bei] = kopf.o.le ? 1 : 0;
        exif[kopf.o.bei + 1] = kopf.o.le ? 0 : 1;
      }
      return new Blob([b.subarray(0, nach), exif, b.subarray(nach)], {type: 'image/jpeg'});
    });
  }

  function jpgName(name) {
    var punkt = name.lastIndexOf('.');
    return (punkt > 0 ? name.slice(0, punkt) : name || 'foto') + '.jpg';
  }

  // The photo to send: {blob, name}, smaller where that works, else the original.
  function verkleinern(f) {
    var original = {blob: f, name: f.name};
    if (!verkleinerbar(f)) return Promise.resolve(original);
    var kopf = null;
    var url = '';
    // The header is in the first bytes (the EXIF segment is at most 64 KB).
    var kopfBytes = f.type === 'image/jpeg' ? lesen(f.slice(0, 512 * 1024)) : Promise.resolve(null);
    return kopfBytes.then(function (b) {
      if (b) {
        kopf = jpegKopf(b);
        if (!kopf) return original;
      }
      var bild = new Image();
      url = URL.createObjectURL(f);
      bild.src = url;
      return bild.decode().then(function () {
        var w = bild.naturalWidth, h = bild.naturalHeight;
        var o = kopf ? kopf.o.wert : 1;
        // Pixels drawn upright: for a quarter turn (5–8) the size shows the browser turned
        // them; a mirror or half turn (2–4) cannot be checked, so that photo stays as it is.
        if (o !== 1 && (o < 5 || o > 8 || w !== kopf.hoehe || h !== kopf.breite)) return original;
        var lang = Math.max(w, h);
        var zuGross = maxBytes > 0 && f.size > maxBytes;
        if (!(lang > kante) && !zuGross) return original;
        var s = Math.min(1, kante / lang);
        leinwand.width = Math.max(1, Math.round(w * s));
        leinwand.height = Math.max(1, Math.round(h * s));
        var ctx = leinwand.getContext('2d');
        ctx.fillStyle = '#fff';  // a transparent PNG on white, as JPEG has no transparency
        ctx.fillRect(0, 0, leinwand.width, leinwand.height);
        ctx.imageSmoothingEnabled = true;
        ctx.imageSmoothingQuality = 'high';
        ctx.drawImage(bild, 0, 0, leinwand.width, leinwand.height);
        return new Promise(function (ok) {
          leinwand.toBlob(ok, 'image/jpeg', QUALITAET);
        }).then(function (jpeg) {
          leinwand.width = leinwand.height = 1;  // frees the pixels
          if (!jpeg) return original;
          return mitExif(jpeg, kopf).then(function (klein) {
            return klein.size < f.size ? {blob: klein, name: jpgName(f.name)} : original;
          });
        });
      });
    }).catch(function () {
      return original;
    }).then(function (ergebnis) {
      if (url) URL.revokeObjectURL(url);
      return ergebnis;
    });
  }

  function zeigen(satz, anteil) {
    if (!bereich) return;
    bereich.hidden = false;
    if (satz !== null && text) text.textContent = satz;
    if (balken) {
      if (anteil === null) balken.removeAttribute('value');
      else balken.value = Math.round(anteil * 100);
    }
  }

  function verbergen() {
    if (bereich) bereich.hidden = true;
  }

  // Sends the form with `files` as its photos; `fertig(fehlertext)` is called only when the
  // page stays (an error): otherwise the answer replaces the page.
  function senden(form, files, fertig) {
    var fotos = [];
    var kette = Promise.resolve();
    files.forEach(function (f, i) {
      kette = kette.then(function () {
        if (verkleinerbar(f)) {
          zeigen(files.length === 1 ? sagt('verkleinert_eins') :
              sagt('verkleinert', {i: i + 1, n: files.length}), null);
        }
        return verkleinern(f);
      }).then(function (foto) { fotos.push(foto); });
    });
    kette.then(function () {
      for (var i = 0; i < fotos.length; i++) {
        if (maxBytes > 0 && fotos[i].blob.size > maxBytes) {
          verbergen();
          fertig(sagt(fotos[i].blob === files[i] ? 'zu_gross' : 'zu_gross_verkleinert',
                      {name: fotos[i].name, max: maxText}));
          return;
        }
      }
      var daten = new FormData(form);
      daten.delete('fotos[]');
      fotos.forEach(function (foto) { daten.append('fotos[]', foto.blob, foto.name); });
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      zeigen(sagt('sendet'), 0);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable && e.total > 0) zeigen(null, e.loaded / e.total);
      };
      xhr.onload = function () {
        // Only our own answer replaces the page (the confirmation, or the form again with what
        // was wrong); a proxy's error page would take the citizen's input with it.
        var seite = xhr.getResponseHeader('X-Meldestelle-Seite');
        if (seite && xhr.responseText) {
          var stand = xhr.getResponseHeader('X-Meldestelle-Statusseite');
          document.open();
          document.write(xhr.responseText);
          document.close();
          // A reload then shows the report's status, not an empty form.
          if (stand && stand.charAt(0) === '/' && window.history && history.replaceState) {
            history.replaceState(null, '', stand);
          }
          window.scrollTo(0, 0);
          return;
        }
        verbergen();
        fertig(sagt('fehler_status', {status: xhr.status}));
      };
      xhr.onerror = xhr.onabort = function () {
        verbergen();
        fertig(sagt('abgebrochen'));
      };
      xhr.send(daten);
    }).catch(function () {
      verbergen();
      fertig(sagt('nicht_vorbereitet'));
    });
  }

  // vorbereiten(file) -> Promise of {blob, name}: what would be sent (the browser test uses it).
  window.meldestelleFotos = {verkleinerbar: verkleinerbar, vorbereiten: verkleinern, senden: senden};
})();
