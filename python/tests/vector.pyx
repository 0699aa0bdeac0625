# 文件名: vector.pyx
from cymem.cymem cimport Pool
cimport cython

cdef struct CVector3:
    float x
    float y
    float z

cdef class VectorArray:
    cdef Pool mem
    cdef CVector3* vectors
    cdef int size
  
    def __init__(self, int size):
        self.mem = Pool()
        self.vectors = <CVector3*>self.mem.alloc(
            size, cython.sizeof(CVector3))
        self.size = size
  
    def set_item(self, int index, float x, float y, float z):
        self.vectors[index].x = x
        self.vectors[index].y = y
        self.vectors[index].z = z

    # Not in the brief: lets the test read back what set_item wrote.
    def get_item(self, int index):
        return (self.vectors[index].x, self.vectors[index].y,
                self.vectors[index].z)

    def pool_size(self):
        return self.mem.size
