// rfa-tracker's only script. It enhances pages that already work without it:
// "Select all on this page" for bulk triage on the case list.
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  if (!all) {
    return;
  }
  var boxes = document.querySelectorAll("input[name='ids']");
  all.hidden = false;
  var box = all.querySelector("input");
  box.addEventListener("change", function () {
    boxes.forEach(function (b) {
      b.checked = box.checked;
    });
  });
  boxes.forEach(function (b) {
    b.addEventListener("change", function () {
      var every = true;
      boxes.forEach(function (o) {
        every = every && o.checked;
      });
      box.checked = every;
    });
  });
})();
