-- hostile: dumps a function to bytecode through the string library
-- expect: load {dir}/hostile.lua:3: error: attempt to call a nil value (field 'dump')
local b = string.dump(function() end)
