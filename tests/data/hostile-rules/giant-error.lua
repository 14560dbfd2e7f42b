-- hostile: raises a one-megabyte error message
-- expect: eval rule error: {dir}/hostile.lua:6: {x*1000}... (message cut at 1000 of 1048576 bytes)
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    error(('x'):rep(1024 * 1024))
  end },
}
