-- hostile: loops forever on every case
-- expect: eval rule error: {dir}/hostile.lua:6: time limit of 1000 ms exceeded
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    while true do end
  end },
}
