/* A tiny program that uses the installed netipc: encode and decode INCREMENT. */
#include <netipc/codec.h>
#include <netipc/error.h>
#include <stdio.h>

int main(void)
{
    unsigned char buf[8];
    size_t len = 0;
    uint64_t v = 0;
    if (nipc_increment_encode(41, buf, sizeof buf, &len) != NIPC_OK ||
        nipc_increment_decode(buf, len, &v) != NIPC_OK || v != 41) {
        fprintf(stderr, "consumer: round trip failed\n");
        return 1;
    }
    printf("consumer: ok (%s)\n", nipc_error_name(NIPC_ERR_TIMEOUT));
    return 0;
}
