// Turns each cascade's comma-separated input into an ordered list with up, down and remove
// buttons and an "add" menu. The input stays the form's value (and the no-JavaScript fallback).
(function () {
  "use strict";

  function parse(value) {
    return value.split(/[\s,]+/).filter(Boolean);
  }

  function button(label, className, title, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "icon " + className;
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", onClick);
    return b;
  }

  function enhance(input) {
    var choices = parse(input.dataset.choices || "");
    var list = document.createElement("ol");
    list.className = "cascade-list";
    var adder = document.createElement("div");
    adder.className = "cascade-add";
    var menu = document.createElement("select");
    menu.setAttribute("aria-label", "Add a model");
    adder.appendChild(menu);
    input.type = "hidden";
    input.parentNode.insertBefore(list, input);
    input.parentNode.insertBefore(adder, input);
    var hint = input.parentNode.querySelector(".hint");
    if (hint) hint.hidden = true;

    function write(models) {
      input.value = models.join(", ");
      render();
    }

    function render() {
      var models = parse(input.value);
      list.innerHTML = "";
      models.forEach(function (name, index) {
        var item = document.createElement("li");
        item.dataset.model = name;
        var label = document.createElement("span");
        label.className = "name";
        label.textContent = name;
        item.appendChild(label);
        var up = button("↑", "up", "Move " + name + " up", function () {
          models.splice(index - 1, 0, models.splice(index, 1)[0]);
          write(models);
        });
        up.disabled = index === 0;
        var down = button("↓", "down", "Move " + name + " down", function () {
          models.splice(index + 1, 0, models.splice(index, 1)[0]);
          write(models);
        });
        down.disabled = index === models.length - 1;
        var remove = button("×", "remove", "Remove " + name, function () {
          models.splice(index, 1);
          write(models);
        });
        item.appendChild(up);
        item.appendChild(down);
        item.appendChild(remove);
        list.appendChild(item);
      });
      var fallback = document.createElement("li");
      fallback.className = "dummy";
      fallback.textContent = "dummy (last resort)";
      list.appendChild(fallback);

      var missing = choices.filter(function (name) { return models.indexOf(name) < 0; });
      menu.innerHTML = "";
      var prompt = document.createElement("option");
      prompt.value = "";
      prompt.textContent = missing.length ? "+ add a model…" : "all models are in the cascade";
      menu.appendChild(prompt);
      missing.forEach(function (name) {
        var option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        menu.appendChild(option);
      });
      menu.disabled = !missing.length;
    }

    menu.addEventListener("change", function () {
      if (!menu.value) return;
      var models = parse(input.value);
      models.push(menu.value);
      write(models);
    });
    render();
  }

  document.querySelectorAll("input.cascade-input").forEach(enhance);
})();
