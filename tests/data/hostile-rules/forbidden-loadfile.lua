-- hostile: reads the forbidden global 'loadfile'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'loadfile'
local x = loadfile
