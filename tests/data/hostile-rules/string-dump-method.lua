-- hostile: reaches string.dump through a string's metatable
-- expect: load {dir}/hostile.lua:3: error: attempt to call a nil value (method 'dump')
local b = (''):dump()
