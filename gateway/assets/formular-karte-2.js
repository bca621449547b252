// The map of the report form (GET /): the citizen places the marker by tapping the map, by
// dragging the marker, with the keyboard (Enter sets it in the middle) or with "Meinen Standort
// verwenden"; the address near the marker is shown (GET /api/v1/places/near, the town's street
// list), and a place outside the town is said before sending. A typed address moves the marker
// (GET /api/v1/places). The marker writes the form's hidden lat/lon; a typed address clears
// them, so that the address decides and the server places it the same way. Without this script
// (or the map library) the form works with the address field alone.
// Its texts come with the page (window.meldestelleText, from the form's own script).
// A change to this file gets a new name (formular-karte-3.js …): browsers keep it for a year.
(function () {
  'use strict';
  var el = document.getElementById('formular-karte');
  var block = document.getElementById('karte-block');
  var lat = document.getElementById('lat');
  var lon = document.getElementById('lon');
  var adresse = document.getElementById('adresse');
  var status = document.getElementById('karte-status');
  if (!el || !block || !lat || !lon || !status || !window.L || !window.fetch) return;
  var L = window.L;
  // The texts in the page's language, from the form's own script (page.cpp).
  var sagt = window.meldestelleText || function (key) { return key; };
  var town = el.getAttribute('data-town') || '';
  var maxZoom = parseInt(el.getAttribute('data-max-zoom'), 10) || 19;
  var start = L.latLng(parseFloat(el.getAttribute('data-lat')), parseFloat(el.getAttribute('data-lon')));
  var zoom = parseInt(el.getAttribute('data-zoom'), 10) || 15;
  block.hidden = false;
  var map = L.map(el, { attributionControl: false, scrollWheelZoom: false });
  L.tileLayer(el.getAttribute('data-tiles'), { maxZoom: maxZoom }).addTo(map);
  var marker = null;
  var asked = 0;  // only the newest answer counts

  function say(text, kind) {
    status.textContent = text;
    status.className = 'status' + (kind ? ' ' + kind : '');
  }
  function outside() {
    return sagt('ausserhalb', {town: town});
  }
  function show(p) {
    if (!marker) {
      marker = L.marker(p, { draggable: true, keyboard: false, alt: sagt('marker') }).addTo(map);
      marker.on('dragend', function () { choose(marker.getLatLng()); });
    } else {
      marker.setLatLng(p);
    }
  }
  // What is near the marker, and whether it is in the town.
  function describe(p) {
    var mine = ++asked;
    fetch('/api/v1/places/near?lat=' + p.lat.toFixed(6) + '&lon=' + p.lng.toFixed(6),
          { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (mine !== asked || !j) return;
        if (j.inside_town === false) { say(outside(), 'fehler'); return; }
        say(j.label ? sagt('gesetzt_nahe', {label: j.label}) : sagt('gesetzt'), 'ok');
      })
      .catch(function () { if (mine === asked) say(sagt('gesetzt'), 'ok'); });
  }
  // The citizen chose this place: it is the report's position.
  function choose(p) {
    show(p);
    lat.value = p.lat.toFixed(6);
    lon.value = p.lng.toFixed(6);
    describe(p);
  }

  map.on('click', function (e) { choose(e.latlng); });
  el.addEventListener('keydown', function (e) {
    if (e.target === el && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      choose(map.getCenter());
    }
  });
  // "Meinen Standort verwenden" (the form's own script) tells where it found the citizen.
  document.addEventListener('meldestelle:standort', function (e) {
    var p = L.latLng(e.detail.lat, e.detail.lon);
    map.setView(p, Math.min(17, maxZoom));
    show(p);
    describe(p);
  });
  if (adresse) {
    adresse.addEventListener('change', function () {
      var q = adresse.value.replace(/^\s+|\s+$/g, '');
      // A typed address decides from now on (the server places it the same way); dragging the
      // marker afterwards makes the marker's place the report's again.
      lat.value = '';
      lon.value = '';
      if (q.length < 3) return;
      var mine = ++asked;
      fetch('/api/v1/places?q=' + encodeURIComponent(q), { headers: { Accept: 'application/json' } })
        .then(function (r) { return r.status === 200 ? r.json() : null; })
        .then(function (j) {
          if (mine !== asked) return;
          if (!j || !j.place) {
            say(sagt('adresse_unbekannt'), '');
            return;
          }
          var p = L.latLng(j.place.lat, j.place.lon);
          map.setView(p, Math.min(17, maxZoom));
          show(p);
          if (j.place.inside_town === false) say(outside(), 'fehler');
          else say(sagt('gefunden', {label: j.place.label}), 'ok');
        })
        .catch(function () {});
    });
  }
  // After an error the form comes back with the position it had.
  if (lat.value && lon.value) {
    var back = L.latLng(parseFloat(lat.value), parseFloat(lon.value));
    map.setView(back, Math.min(17, maxZoom));
    show(back);
  } else {
    map.setView(start, zoom);
  }
})();
