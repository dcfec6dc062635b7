package opencl

import (
	"errors"
	"fmt"
)

// ErrUnavailable says that no OpenCL library could be loaded (or that the
// binary was built without cgo). It wraps the loader's reason.
var ErrUnavailable = errors.New("opencl: unavailable")

// Code is an OpenCL status code (cl_int) as a Go error: errors.Is matches it
// against the named codes below, and its text is the CL_* name.
type Code int32

// The OpenCL status codes that synthfed names. Any other code still prints
// as a number.
const (
	ErrDeviceNotFound               Code = -1
	ErrDeviceNotAvailable           Code = -2
	ErrCompilerNotAvailable         Code = -3
	ErrMemObjectAllocationFailure   Code = -4
	ErrOutOfResources               Code = -5
	ErrOutOfHostMemory              Code = -6
	ErrBuildProgramFailure          Code = -11
	ErrExecStatusErrorForEventsInWL Code = -14
	ErrInvalidValue                 Code = -30
	ErrInvalidDeviceType            Code = -31
	ErrInvalidPlatform              Code = -32
	ErrInvalidDevice                Code = -33
	ErrInvalidContext               Code = -34
	ErrInvalidCommandQueue          Code = -36
	ErrInvalidMemObject             Code = -38
	ErrInvalidBuildOptions          Code = -43
	ErrInvalidProgram               Code = -44
	ErrInvalidProgramExecutable     Code = -45
	ErrInvalidKernelName            Code = -46
	ErrInvalidKernel                Code = -48
	ErrInvalidArgIndex              Code = -49
	ErrInvalidArgValue              Code = -50
	ErrInvalidArgSize               Code = -51
	ErrInvalidKernelArgs            Code = -52
	ErrInvalidWorkDimension         Code = -53
	ErrInvalidWorkGroupSize         Code = -54
	ErrInvalidWorkItemSize          Code = -55
	ErrInvalidGlobalOffset          Code = -56
	ErrInvalidEventWaitList         Code = -57
	ErrInvalidOperation             Code = -59
	ErrInvalidBufferSize            Code = -61
	ErrInvalidGlobalWorkSize        Code = -63
	ErrPlatformNotFoundKHR          Code = -1001
)

var codeNames = map[Code]string{
	ErrDeviceNotFound:               "CL_DEVICE_NOT_FOUND",
	ErrDeviceNotAvailable:           "CL_DEVICE_NOT_AVAILABLE",
	ErrCompilerNotAvailable:         "CL_COMPILER_NOT_AVAILABLE",
	ErrMemObjectAllocationFailure:   "CL_MEM_OBJECT_ALLOCATION_FAILURE",
	ErrOutOfResources:               "CL_OUT_OF_RESOURCES",
	ErrOutOfHostMemory:              "CL_OUT_OF_HOST_MEMORY",
	ErrBuildProgramFailure:          "CL_BUILD_PROGRAM_FAILURE",
	ErrExecStatusErrorForEventsInWL: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
	ErrInvalidValue:                 "CL_INVALID_VALUE",
	ErrInvalidDeviceType:            "CL_INVALID_DEVICE_TYPE",
	ErrInvalidPlatform:              "CL_INVALID_PLATFORM",
	ErrInvalidDevice:                "CL_INVALID_DEVICE",
	ErrInvalidContext:               "CL_INVALID_CONTEXT",
	ErrInvalidCommandQueue:          "CL_INVALID_COMMAND_QUEUE",
	ErrInvalidMemObject:             "CL_INVALID_MEM_OBJECT",
	ErrInvalidBuildOptions:          "CL_INVALID_BUILD_OPTIONS",
	ErrInvalidProgram:               "CL_INVALID_PROGRAM",
	ErrInvalidProgramExecutable:     "CL_INVALID_PROGRAM_EXECUTABLE",
	ErrInvalidKernelName:            "CL_INVALID_KERNEL_NAME",
	ErrInvalidKernel:                "CL_INVALID_KERNEL",
	ErrInvalidArgIndex:              "CL_INVALID_ARG_INDEX",
	ErrInvalidArgValue:              "CL_INVALID_ARG_VALUE",
	ErrInvalidArgSize:               "CL_INVALID_ARG_SIZE",
	ErrInvalidKernelArgs:            "CL_INVALID_KERNEL_ARGS",
	ErrInvalidWorkDimension:         "CL_INVALID_WORK_DIMENSION",
	ErrInvalidWorkGroupSize:         "CL_INVALID_WORK_GROUP_SIZE",
	ErrInvalidWorkItemSize:          "CL_INVALID_WORK_ITEM_SIZE",
	ErrInvalidGlobalOffset:          "CL_INVALID_GLOBAL_OFFSET",
	ErrInvalidEventWaitList:         "CL_INVALID_EVENT_WAIT_LIST",
	ErrInvalidOperation:             "CL_INVALID_OPERATION",
	ErrInvalidBufferSize:            "CL_INVALID_BUFFER_SIZE",
	ErrInvalidGlobalWorkSize:        "CL_INVALID_GLOBAL_WORK_SIZE",
	ErrPlatformNotFoundKHR:          "CL_PLATFORM_NOT_FOUND_KHR",
}

// Error returns the CL_* name and the number, e.g.
// "CL_BUILD_PROGRAM_FAILURE (-11)".
func (c Code) Error() string {
	if name, ok := codeNames[c]; ok {
		return fmt.Sprintf("%s (%d)", name, int32(c))
	}
	return fmt.Sprintf("OpenCL error %d", int32(c))
}

// check turns a status code from the call op into nil or an error that
// names the call and wraps the Code.
func check(op string, status int32) error {
	if status == 0 {
		return nil
	}
	return fmt.Errorf("opencl: %s: %w", op, Code(status))
}
