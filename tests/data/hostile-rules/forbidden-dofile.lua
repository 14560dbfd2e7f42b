-- hostile: reads the forbidden global 'dofile'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'dofile'
local x = dofile
