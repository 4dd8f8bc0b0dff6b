/* nova_test.c: a C program written only against nova.h (libnova.so) - tests/capi/test_capi.py compiles and runs it.
 *
 * It opens a simulated AD102 (the L40 vGPU board), reads its info, allocates and frees FB and channel ids, runs
 * RM controls, creates and destroys a vGPU, and checks that bad calls give negative codes with messages - NULL and
 * closed handles included - and that nova_last_error() is per thread. Every check prints one line; the exit status
 * is the number of failed checks.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nova.h"

static int failures;

#define CHECK(cond, ...) do { \
        if (cond) { printf("ok   "); } else { printf("FAIL "); failures++; } \
        printf(__VA_ARGS__); printf("\n"); fflush(stdout); \
    } while (0)

/* a failing call: the code and that it left a message */
#define EXPECT_ERR(call, code) do { \
        int rc_ = (call); \
        const char *m_ = nova_last_error(); \
        CHECK(rc_ == -(code) && m_ && m_[0], "%s = %d (%s): %s", #call, rc_, #code, m_ ? m_ : "(null)"); \
    } while (0)

static nova_device *shared_dev;

static void *other_thread(void *arg)
{
    (void)arg;
    int rc = nova_chid_free(shared_dev, 7, 3);  /* never allocated */
    const char *m = nova_last_error();
    CHECK(rc == -EINVAL && strstr(m, "7") != NULL, "thread: nova_chid_free(7, 3) = %d: %s", rc, m);
    return NULL;
}

int main(void)
{
    nova_device *dev = NULL;
    int rc;

    /* NULLs before anything is open */
    EXPECT_ERR(nova_open_sim("ad102", NULL), EINVAL);
    EXPECT_ERR(nova_open_sim(NULL, &dev), EINVAL);
    EXPECT_ERR(nova_get_info(NULL, NULL), EINVAL);
    EXPECT_ERR(nova_open_sim("gx100", &dev), EINVAL);
    CHECK(dev == NULL, "a failed open leaves *out NULL");
    rc = nova_open_pci("0000:99:00.0", &dev);
    CHECK(rc < 0 && dev == NULL, "nova_open_pci(0000:99:00.0) = %d: %s", rc, nova_last_error());

    rc = nova_open_sim("ad102", &dev);
    CHECK(rc == 0 && dev != NULL, "nova_open_sim(ad102) = %d %s", rc, rc ? nova_last_error() : "");
    if (rc)
        return 100;

    nova_info info;
    memset(&info, 0, sizeof info);
    rc = nova_get_info(dev, &info);
    CHECK(rc == 0 && info.chipset_id == 0x192 && info.vram_bytes == 48ULL << 30 && info.name[0],
          "info: chipset %#x, %" PRIu64 " MiB VRAM, '%s'", info.chipset_id, info.vram_bytes >> 20, info.name);

    /* FB */
    uint64_t a = 0, b = 0;
    rc = nova_fb_alloc(dev, 64 << 20, 2 << 20, &a);
    CHECK(rc == 0 && a && a % (2 << 20) == 0, "nova_fb_alloc(64 MiB, 2 MiB) = %d at %#" PRIx64, rc, a);
    rc = nova_fb_alloc(dev, 4096, 0, &b);
    CHECK(rc == 0 && b != a, "nova_fb_alloc(4 KiB) = %d at %#" PRIx64, rc, b);
    EXPECT_ERR(nova_fb_alloc(dev, 1ULL << 39, 4096, &b), ENOMEM);  /* 512 GiB: more than the 48 GiB */
    EXPECT_ERR(nova_fb_alloc(dev, 4096, 3000, &b), EINVAL);
    CHECK(nova_fb_free(dev, a) == 0, "nova_fb_free(%#" PRIx64 ")", a);
    EXPECT_ERR(nova_fb_free(dev, a), EINVAL);
    EXPECT_ERR(nova_fb_free(dev, 0x1234), EINVAL);

    /* channel ids */
    uint32_t first = 0;
    rc = nova_chid_alloc(dev, 16, &first);
    CHECK(rc == 0 && first + 16 <= 2048, "nova_chid_alloc(16) = %d: ids %u..%u", rc, first, first + 15);
    EXPECT_ERR(nova_chid_alloc(dev, 0, &first), EINVAL);
    EXPECT_ERR(nova_chid_alloc(dev, 4096, &first), EINVAL);
    EXPECT_ERR(nova_chid_free(dev, first, 8), EINVAL);
    CHECK(nova_chid_free(dev, first, 16) == 0, "nova_chid_free(%u, 16)", first);
    EXPECT_ERR(nova_chid_free(dev, first, 16), EINVAL);

    /* RM controls: the base API's allowlist on handle 0, anything on a GSP client of one's own */
    char ping[8] = "ping";
    rc = nova_rm_control(dev, 0, 0x0 /* NV0000_CTRL_CMD_NULL */, ping, sizeof ping);
    CHECK(rc == 0 && strcmp(ping, "ping") == 0, "nova_rm_control(0, NULL) = %d: '%s'", rc, ping);
    uint64_t seg = 0;
    EXPECT_ERR(nova_rm_control(dev, 0, 0x2080017e, &seg, sizeof seg), EPERM);
    EXPECT_ERR(nova_rm_control(dev, 0, 0, NULL, 8), EINVAL);
    uint32_t client = 0;
    rc = nova_gsp_client_alloc(dev, &client);
    CHECK(rc == 0 && client, "nova_gsp_client_alloc = %d: %#010x", rc, client);
    rc = nova_rm_control(dev, client, 0x2080017e /* GPU_GET_VMMU_SEGMENT_SIZE */, &seg, sizeof seg);
    CHECK(rc == 0 && seg == 32 << 20, "GET_VMMU_SEGMENT_SIZE on the client = %d: %#" PRIx64, rc, seg);
    uint32_t gfid_param = 9;
    EXPECT_ERR(nova_rm_control(dev, client, 0x20804002 /* SHUTDOWN_GSP_VGPU_PLUGIN_TASK */, &gfid_param, 4), EIO);
    EXPECT_ERR(nova_rm_control(dev, 0x12345678, 0, ping, sizeof ping), EINVAL);
    CHECK(nova_gsp_client_free(dev, client) == 0, "nova_gsp_client_free(%#010x)", client);
    EXPECT_ERR(nova_gsp_client_free(dev, client), EINVAL);

    /* vGPU types */
    uint32_t ntypes = 0;
    rc = nova_vgpu_type_count(dev, &ntypes);
    CHECK(rc == 0 && ntypes == 10, "nova_vgpu_type_count = %d: %u", rc, ntypes);
    nova_vgpu_type t4;
    memset(&t4, 0, sizeof t4);
    rc = nova_vgpu_type_info(dev, 3, &t4);
    CHECK(rc == 0 && strcmp(t4.name, "NVIDIA L40-4Q") == 0, "type 3: %u '%s' %" PRIu64 " MiB, at most %u", t4.id,
          t4.name, t4.fb_bytes >> 20, t4.max_instances);
    EXPECT_ERR(nova_vgpu_type_info(dev, ntypes, &t4), EINVAL);

    /* vGPUs */
    uint32_t gfid = 0;
    EXPECT_ERR(nova_vgpu_create(dev, 1, t4.id, &gfid), EINVAL);  /* no VFs yet */
    CHECK(nova_vgpu_enable_vfs(dev, 4) == 0, "nova_vgpu_enable_vfs(4)");
    EXPECT_ERR(nova_vgpu_enable_vfs(dev, 2), EBUSY);
    rc = nova_vgpu_create(dev, 1, t4.id, &gfid);
    CHECK(rc == 0 && gfid == 1, "nova_vgpu_create(VF 1, %u) = %d: gfid %u %s", t4.id, rc, gfid,
          rc ? nova_last_error() : "");
    EXPECT_ERR(nova_vgpu_create(dev, 1, t4.id, &gfid), EBUSY);
    EXPECT_ERR(nova_vgpu_create(dev, 9, t4.id, &gfid), EINVAL);
    EXPECT_ERR(nova_vgpu_create(dev, 2, 77, &gfid), EINVAL);
    EXPECT_ERR(nova_vgpu_disable_vfs(dev), EBUSY);
    CHECK(nova_vgpu_destroy(dev, 1) == 0, "nova_vgpu_destroy(gfid 1)");
    EXPECT_ERR(nova_vgpu_destroy(dev, 1), ENODEV);
    rc = nova_vgpu_create(dev, 2, t4.id, &gfid);
    CHECK(rc == 0 && gfid == 2, "nova_vgpu_create(VF 2) = %d: gfid %u", rc, gfid);
    CHECK(nova_vgpu_destroy(dev, gfid) == 0, "nova_vgpu_destroy(gfid %u)", gfid);

    /* nova_last_error is per thread */
    EXPECT_ERR(nova_fb_free(dev, 0xdead000), EINVAL);
    char mine[256];
    snprintf(mine, sizeof mine, "%s", nova_last_error());
    shared_dev = dev;
    pthread_t th;
    pthread_create(&th, NULL, other_thread, NULL);
    pthread_join(th, NULL);
    CHECK(strcmp(mine, nova_last_error()) == 0, "this thread's message is still its own: %s", nova_last_error());

    /* a handle that was never given out, and one that was closed: -EINVAL, no crash */
    EXPECT_ERR(nova_get_info((nova_device *)(uintptr_t)0x7777, &info), EINVAL);
    nova_close(dev);
    EXPECT_ERR(nova_get_info(dev, &info), EINVAL);
    EXPECT_ERR(nova_fb_alloc(dev, 4096, 4096, &a), EINVAL);
    EXPECT_ERR(nova_vgpu_create(dev, 1, t4.id, &gfid), EINVAL);
    nova_close(dev);  /* twice: nothing happens */
    nova_close(NULL);

    printf("%d failure(s)\n", failures);
    return failures;
}
