-- hostile: catches every error in an endless loop
-- expect: eval rule error: {dir}/hostile.lua:6: time limit of 1000 ms exceeded
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    while true do pcall(error, 'again') end
  end },
}
