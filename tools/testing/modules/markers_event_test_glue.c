// SPDX-License-Identifier: GPL-2.0
/*
 * C half of markers_event_test.ko: the debugfs file that fires its markers
 * (Rust on 6.12 has no debugfs bindings).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>

#include "markers_event_test_glue.h"

static struct dentry *dir;

static ssize_t fire_write(struct file *file, const char __user *buf,
			  size_t len, loff_t *ppos)
{
	u32 n;
	int ret = kstrtou32_from_user(buf, len, 0, &n);

	if (ret)
		return ret;
	markers_event_test_fire(n);
	return len;
}

static const struct file_operations fire_fops = {
	.owner = THIS_MODULE,
	.write = fire_write,
};

int markers_event_test_glue_init(void)
{
	dir = debugfs_create_dir("markers_event_test", NULL);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	debugfs_create_file("fire", 0200, dir, NULL, &fire_fops);
	return 0;
}

void markers_event_test_glue_exit(void)
{
	debugfs_remove(dir);
}
