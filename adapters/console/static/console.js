// The console's own script: small conveniences on top of pages that work without it.
// Live regions are htmx's (vendor/htmx); nothing here is needed to use the console.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A new campaign's start time is the operator's local time: offer this browser's offset.
  const offset = document.getElementById("utc_offset");
  const start = document.getElementById("start_at");
  if (offset && start && !start.value && offset.dataset.default === "+00:00") {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes < 0 ? "-" : "+";
    const hours = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, "0");
    const rest = String(Math.abs(minutes) % 60).padStart(2, "0");
    const value = `${sign}${hours}:${rest}`;
    if ([...offset.options].some((option) => option.value === value)) {
      offset.value = value;
    }
  }
});
