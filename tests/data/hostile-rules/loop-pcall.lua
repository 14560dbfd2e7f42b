-- hostile: hides an endless loop inside pcall, then goes on
-- expect: eval rule error: {dir}/hostile.lua:6: time limit of 1000 ms exceeded
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    pcall(function() while true do end end)
    while true do end
  end },
}
