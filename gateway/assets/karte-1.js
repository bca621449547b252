// The small map of the status page (GET /meldung/{reference}): the place of the report, shown,
// not edited. Reads everything from the element's data-* attributes; without this script (or
// without the map library) the page shows the place as a link and nothing is missing.
// A change to this file gets a new name (karte-2.js …): browsers keep it for a year.
(function () {
  'use strict';
  var el = document.getElementById('karte');
  if (!el || !window.L) return;
  var lat = parseFloat(el.getAttribute('data-lat'));
  var lon = parseFloat(el.getAttribute('data-lon'));
  var maxZoom = parseInt(el.getAttribute('data-max-zoom'), 10) || 19;
  if (!isFinite(lat) || !isFinite(lon)) return;
  el.hidden = false;
  // A picture of the place: no controls to reach with the keyboard, nothing to drag.
  var map = window.L.map(el, {
    zoomControl: false, attributionControl: false, dragging: false, touchZoom: false,
    doubleClickZoom: false, scrollWheelZoom: false, boxZoom: false, keyboard: false
  });
  window.L.tileLayer(el.getAttribute('data-tiles'), { maxZoom: maxZoom }).addTo(map);
  map.setView([lat, lon], Math.min(17, maxZoom));
  window.L.circleMarker([lat, lon], {
    radius: 11, color: '#b3261e', weight: 3, fillColor: '#b3261e', fillOpacity: 0.3,
    interactive: false
  }).addTo(map);
})();
