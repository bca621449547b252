// The map of the public list of reports (GET /meldungen): one marker per report of the page, in
// its status's colour, with a popup linking to the report's page. Reads everything from the
// data-* attributes of the map and of the list's items; builds the popups from text nodes only.
// Without this script (or the map library) the list says everything.
// A change to this file gets a new name (meldungen-karte-2.js …): browsers keep it for a year.
(function () {
  'use strict';
  var el = document.getElementById('meldungen-karte');
  if (!el || !window.L) return;
  var farben = {open: '#b3261e', work: '#8a4b00', done: '#1d6b2f'};
  var maxZoom = parseInt(el.getAttribute('data-max-zoom'), 10) || 19;
  var punkte = [];
  var items = document.querySelectorAll('.meldung[data-lat][data-lon]');
  for (var i = 0; i < items.length; i++) {
    var lat = parseFloat(items[i].getAttribute('data-lat'));
    var lon = parseFloat(items[i].getAttribute('data-lon'));
    if (isFinite(lat) && isFinite(lon)) punkte.push({lat: lat, lon: lon, item: items[i]});
  }
  var mitteLat = parseFloat(el.getAttribute('data-lat'));
  var mitteLon = parseFloat(el.getAttribute('data-lon'));
  if (!punkte.length && !(isFinite(mitteLat) && isFinite(mitteLon))) return;
  el.hidden = false;
  var map = window.L.map(el, {scrollWheelZoom: false, attributionControl: false});
  window.L.tileLayer(el.getAttribute('data-tiles'), {maxZoom: maxZoom}).addTo(map);
  var grenzen = [];
  punkte.forEach(function (p) {
    var stand = p.item.getAttribute('data-stand');
    var farbe = farben[stand] || farben.open;
    var popup = document.createElement('div');
    var link = document.createElement('a');
    link.href = p.item.getAttribute('data-link');
    link.textContent = p.item.getAttribute('data-titel');
    popup.appendChild(link);
    var zustand = p.item.querySelector('.stand');
    if (zustand) {
      popup.appendChild(document.createElement('br'));
      popup.appendChild(document.createTextNode(zustand.textContent));
    }
    window.L.circleMarker([p.lat, p.lon], {
      radius: 9, color: farbe, weight: 3, fillColor: farbe, fillOpacity: 0.45
    }).bindPopup(popup).addTo(map);
    grenzen.push([p.lat, p.lon]);
  });
  if (grenzen.length > 1) {
    map.fitBounds(grenzen, {padding: [24, 24], maxZoom: 17});
  } else if (grenzen.length === 1) {
    map.setView(grenzen[0], Math.min(16, maxZoom));
  } else {
    map.setView([mitteLat, mitteLon], parseInt(el.getAttribute('data-zoom'), 10) || 14);
  }
})();
