/* libbpf (Debian 12: 1.1) and the kernel's BPF UAPI, with the few helpers Swift cannot
 * express directly: BTF section walks and libbpf's errno convention. */
#ifndef CLIBBPF_H
#define CLIBBPF_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* Offset and size of global variable `name` inside the data section `section` (".rodata",
 * ".data", ".bss") of an opened object. Returns 0, or -ENOENT when either is missing. */
static inline int clibbpf_find_section_variable(const struct bpf_object *obj, const char *section,
                                                const char *name, uint32_t *offset, uint32_t *size)
{
    struct btf *btf = bpf_object__btf(obj);
    if (!btf)
        return -ENOENT;
    int sec_id = btf__find_by_name_kind(btf, section, BTF_KIND_DATASEC);
    if (sec_id < 0)
        return -ENOENT;
    const struct btf_type *sec = btf__type_by_id(btf, (uint32_t)sec_id);
    const struct btf_var_secinfo *info = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); i++, info++) {
        const struct btf_type *var = btf__type_by_id(btf, info->type);
        const char *var_name = btf__name_by_offset(btf, var->name_off);
        if (var_name && strcmp(var_name, name) == 0) {
            *offset = info->offset;
            *size = info->size;
            return 0;
        }
    }
    return -ENOENT;
}

/* 1 when the vmlinux BTF has a type of this name and kind (e.g. "btf_trace_page_fault_user",
 * BTF_KIND_TYPEDEF for a tp_btf target), 0 when not, negative errno when there is no BTF. */
static inline int clibbpf_vmlinux_has_type(const char *name, int kind)
{
    struct btf *btf = btf__load_vmlinux_btf();
    int err = libbpf_get_error(btf);
    if (err)
        return err < 0 ? err : -err;
    int id = btf__find_by_name_kind(btf, name, (uint32_t)kind);
    btf__free(btf);
    return id > 0 ? 1 : 0;
}

/* Run time and run count the kernel accounted to a loaded program (only while run-time
 * statistics are enabled, see bpf_enable_stats). Returns 0 or a negative errno. */
static inline int clibbpf_program_run_stats(const struct bpf_program *program, uint64_t *run_time_ns,
                                            uint64_t *run_count)
{
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    uint32_t length = sizeof(info);
    int err = bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &length);
    if (err)
        return err < 0 ? err : -err;
    *run_time_ns = info.run_time_ns;
    *run_count = info.run_cnt;
    return 0;
}

/* Turns on the kernel's per-program run-time accounting until the returned descriptor is
 * closed; a negative errno on failure. */
static inline int clibbpf_enable_run_time_stats(void)
{
    return bpf_enable_stats(BPF_STATS_RUN_TIME);
}

/* libbpf 1.x returns NULL and sets errno from its constructors; capture it in one call. */
static inline int clibbpf_errno(void)
{
    return errno;
}

#endif
